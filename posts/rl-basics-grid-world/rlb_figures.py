"""本文各图：全部由 grid_bellman.py 中的网格、策略与求解函数计算。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Rectangle

from grid_bellman import (ACTIONS, action_values, default_world, shortest_path_policy,
                          solve_bellman_exact, solve_bellman_iterative, uniform_policy)

# 黑色箭头描白边（暗色模式下两者互换），在 viridis 的深色和浅色格子上都看得清
HALO = [patheffects.withStroke(linewidth=3.5, foreground="white")]


def _draw_grid(ax, world, values, vmin=None, vmax=None):
    """状态值热力图（行 0 在上，与正文的网格一致），禁区画红框，目标画黑框。"""
    im = ax.imshow(values.reshape(world.n_rows, world.n_cols), cmap="viridis",
                   vmin=vmin, vmax=vmax)
    for s in range(world.n_states):
        i, j = divmod(s, world.n_cols)
        if s in world.forbidden:
            ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor="C3",
                                   linewidth=2.2))
        elif s == world.target:
            ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor="k",
                                   linewidth=2.2))
    ax.set_xticks(range(world.n_cols))
    ax.set_yticks(range(world.n_rows))
    ax.tick_params(length=0)
    return im


def _draw_actions(ax, world, actions, color="k", cells=None, size=0.32, shift=0.0):
    """每个格子里画出动作：四个方向画箭头，原地不动画圆点。shift 把箭头沿垂直于
    箭头的方向平移（同一格画两个动作时错开）。"""
    for s in (range(world.n_states) if cells is None else cells):
        i, j = divmod(s, world.n_cols)
        di, dj = ACTIONS[actions[s]]
        if di == 0 and dj == 0:
            ax.plot(j, i, "o", color=color, markersize=6, path_effects=HALO)
            continue
        i, j = i + abs(dj) * shift, j + abs(di) * shift
        ax.annotate("", xy=(j + dj * size, i + di * size), xytext=(j - dj * size, i - di * size),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.8, mutation_scale=12,
                                    path_effects=HALO))


def plot_values_and_improvement():
    """左：最短安全路径策略的 v_pi 与它的动作；右：均匀策略的 v_pi。橙色箭头是对 q_pi 贪心的动作
    （只画与原策略不同的格子；均匀策略没有单一动作，画全部格子）。"""
    world = default_world()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4))
    for ax, pi, label in ((axes[0], shortest_path_policy(world), "最短安全路径策略"),
                          (axes[1], uniform_policy(world), "均匀随机策略")):
        v = solve_bellman_exact(world, pi)
        greedy = np.argmax(action_values(world, v), axis=1)
        im = _draw_grid(ax, world, v)
        if label.startswith("最短"):
            own = np.argmax(pi, axis=1)
            differ = [s for s in range(world.n_states) if greedy[s] != own[s]]
            _draw_actions(ax, world, own, cells=[s for s in range(world.n_states) if s not in differ])
            _draw_actions(ax, world, own, cells=differ, size=0.25, shift=-0.2)
            _draw_actions(ax, world, greedy, color="C1", cells=differ, size=0.25, shift=0.2)
        else:
            _draw_actions(ax, world, greedy, color="C1")
        ax.set_xlabel(label)
        fig.colorbar(im, ax=ax, shrink=0.85, label=r"$v_\pi(s)$")
    return fig


def plot_error_contraction():
    """左：从 v_0 = 0 出发的迭代误差 ||v_k - v_pi||_inf（对数纵轴）与先验界 gamma^k ||e_0||_inf；
    右：相邻两轮的误差比（误差小于 1e-6 后受舍入影响，不再画）。"""
    world = default_world()
    g = world.gamma
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.2))
    for pi, label, color in ((shortest_path_policy(world), "最短安全路径策略", "C0"),
                             (uniform_policy(world), "均匀随机策略", "C1")):
        v_exact = solve_bellman_exact(world, pi)
        _, hist = solve_bellman_iterative(world, pi)
        err = np.array([np.max(np.abs(h - v_exact)) for h in hist])
        k = np.arange(len(err))
        ax.semilogy(k, err, color=color, lw=2.5, label=label)
        ax.semilogy(k, g ** k * err[0], color="k", lw=0.9, ls="--")
        ok = err[:-1] > 1e-6
        ax_r.plot(k[1:][ok], (err[1:] / err[:-1])[ok], color=color, lw=2)
    ax.plot([], [], color="k", lw=0.9, ls="--", label=r"$\gamma^k\,\|e_0\|_\infty$")
    ax_r.axhline(g, color="k", lw=0.9, ls="--", zorder=1)
    ax_r.text(150, g - 0.0004, rf"$\gamma={g}$", ha="right", va="top")
    ax.set_xlabel("迭代轮数 $k$")
    ax.set_ylabel(r"$\|v_k-v_\pi\|_\infty$")
    ax.legend(loc="lower left")
    ax_r.set_xlabel("迭代轮数 $k$")
    ax_r.set_ylabel(r"误差比 $\|e_k\|_\infty/\|e_{k-1}\|_\infty$")
    return fig


def plot_lookahead():
    """最短安全路径策略下从 v_0 = 0 迭代 k 轮的 v_k：v_k 是前 k 步奖励的期望折扣和。"""
    world = default_world()
    pi = shortest_path_policy(world)
    _, hist = solve_bellman_iterative(world, pi)
    v_exact = solve_bellman_exact(world, pi)
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9))
    for ax, k in zip(axes, (1, 5, 30)):
        im = _draw_grid(ax, world, hist[k], vmin=-1.0, vmax=v_exact.max())
        ax.set_xlabel(f"$v_{{{k}}}$")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.8, label="$v_k(s)$")
    return fig
