"""被图引用的文章代码。"""
import numpy as np


def curves(n=200):
    x = np.linspace(0.0, 2 * np.pi, n)
    return x, np.sin(x), np.cos(x)
