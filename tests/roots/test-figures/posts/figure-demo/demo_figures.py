"""演示用的图。设置了 KB_FIGURE_CALL_LOG 时，每次画图都在该文件里记一行（测试用来判断画图代码是否重新运行）。"""
import os

import matplotlib.pyplot as plt
import numpy as np

from demo_model import curves


def _log(name):
    if os.environ.get("KB_FIGURE_CALL_LOG"):
        with open(os.environ["KB_FIGURE_CALL_LOG"], "a", encoding="utf-8") as log:
            log.write(name + "\n")


def plot_curves():
    _log("plot_curves")
    x, s, c = curves()
    fig, ax = plt.subplots()
    ax.plot(x, s, label="正弦 $\\sin x$")
    ax.plot(x, c, label="余弦 $\\cos x$")
    ax.set_xlabel("$x$")
    ax.legend()
    return fig


def plot_grid():
    _log("plot_grid")
    g = np.add.outer(np.arange(20), np.arange(20))
    fig, ax = plt.subplots(figsize=(4, 3.2))
    im = ax.imshow(g, origin="lower")
    fig.colorbar(im, ax=ax, label="函数值")
    return fig
