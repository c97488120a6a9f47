"""本文各图：全部由 activation_zoo.py 里的函数计算（纯 NumPy）。"""
from math import pi, sqrt

import matplotlib.pyplot as plt
import numpy as np

from activation_zoo import (GELU_TANH_A, GELU_TAYLOR_A, d_elu, d_gelu, d_leaky_relu, d_relu,
                            d_sigmoid, d_swish, d_tanh, elu, gelu, gradient_norm_through_depth,
                            leaky_relu, relu, sigmoid, std_normal_cdf, swish, tanh)

LEAKY_SLOPE = 0.1   # 图里把 Leaky ReLU 的斜率放大到 0.1，0.01 在这个尺度下与 ReLU 分不开

# (名字, f, f', 颜色, 线型)
CURVES = [
    ("sigmoid", sigmoid, d_sigmoid, "C0", "-"),
    ("tanh", tanh, d_tanh, "C9", "-"),
    ("ReLU", relu, d_relu, "ink", "-"),
    (f"Leaky ReLU ($a={LEAKY_SLOPE}$)", lambda x: leaky_relu(x, LEAKY_SLOPE),
     lambda x: d_leaky_relu(x, LEAKY_SLOPE), "C8", "--"),
    ("ELU", elu, d_elu, "C4", "-"),
    ("GELU", gelu, d_gelu, "C1", "-"),
    ("SiLU", swish, d_swish, "C2", "--"),
]


def _with_jumps(x, y):
    """在导数的跳变处断开折线，免得画出一条竖线。"""
    y = np.array(y, float)
    jump = np.abs(np.diff(y)) > 0.2
    y[1:][jump] = np.nan
    return y


def _ink():
    """正文文字的颜色（深色模式会替换它）。不用 "k"：SVG 里黑色填充不写颜色，深色模式换不掉。"""
    return plt.rcParams["text.color"]


def plot_functions_and_derivatives():
    x = np.linspace(-4, 4, 801)
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(7.2, 3.9), sharex=True)
    for name, f, df, color, ls in CURVES:
        color = _ink() if color == "ink" else color
        ax_f.plot(x, f(x), color=color, ls=ls, lw=1.6, label=name)
        ax_d.plot(x, _with_jumps(x, df(x)), color=color, ls=ls, lw=1.6)
    ax_f.set_ylim(-1.3, 3.2)
    ax_f.set_ylabel("$f(x)$")
    ax_d.set_ylim(-0.2, 1.25)
    ax_d.set_ylabel("$f'(x)$")
    ax_d.axhline(0.25, color="#bfc8d2", lw=1, zorder=0)
    ax_d.text(-4, 0.27, "1/4", fontsize=10, color="C0")
    for ax in (ax_f, ax_d):
        ax.axhline(0, color="#bfc8d2", lw=1, zorder=0)
        ax.axvline(0, color="#bfc8d2", lw=1, zorder=0)
        ax.set_xlabel("$x$")
    fig.legend(loc="outside lower center", ncol=4, frameon=False, fontsize=10)
    return fig


def plot_gradient_through_depth():
    depth = 30
    runs = [("sigmoid（Xavier）", "sigmoid", "xavier", "C0"),
            ("tanh（Xavier）", "tanh", "xavier", "C9"),
            ("ReLU（He）", "relu", "he", _ink())]
    layers = np.arange(depth + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, act, init, color in runs:
        norms = gradient_norm_through_depth(act, depth=depth, init=init)
        ax.semilogy(layers, norms / norms[-1], "o-", ms=3, color=color, label=label)
    # sigmoid 的界：每层至多 1/4（权重谱范数取 1 时）
    ax.semilogy(layers, 0.25 ** (depth - layers), ":", color="C7", label="每层乘 1/4")
    ax.set_xlabel("层号 $l$")
    ax.set_ylabel(r"$\|\boldsymbol{g}_l\| \,/\, \|\boldsymbol{g}_{30}\|$")
    ax.set_xlim(0, depth)
    ax.set_ylim(1e-20, 10)
    ax.legend(loc="lower right", fontsize=10)
    return fig


def plot_gelu_tanh_error():
    x = np.linspace(-6, 6, 2401)
    phi = std_normal_cdf(x)
    c = sqrt(2 / pi)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for a, label, color in [(GELU_TANH_A, f"论文常数 $\\kappa={GELU_TANH_A}$", "C1"),
                            (GELU_TAYLOR_A, f"泰勒常数 $\\kappa_{{\\mathrm{{T}}}}={GELU_TAYLOR_A:.6f}$", "C0")]:
        err = phi - 0.5 * (1 + np.tanh(c * (x + a * x ** 3)))
        ax.plot(x, err * 1e4, color=color, lw=1.6, label=label)
        if a == GELU_TANH_A:
            m = np.abs(err).max() * 1e4
            for s in (m, -m):
                ax.axhline(s, color=color, ls=":", lw=1)
    ax.axhline(0, color="#bfc8d2", lw=1, zorder=0)
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"近似 $\Phi(x)$ 的误差（$\times 10^{-4}$）")
    ax.set_xlim(-6, 6)
    ax.legend(loc="lower left", fontsize=10)
    return fig
