"""本文各图：模型、损失与优化步都来自 logreg_numpy.py，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np

from logreg_numpy import fit_newton, grad, hessian, lipschitz, make_data, nll, sigmoid

LAM = 0.01                                           # 与 logreg_numpy.main() 的主实验相同


def ink():
    """正文文字的颜色。实心的黑色标记与文字要用它：matplotlib 写 SVG 时省略黑色填充，深色模式无法替换。"""
    return plt.rcParams["text.color"]


def gd_path(X, y, lam, n_steps):
    """步长 1/L 的梯度下降（与 fit_gd 相同的更新），返回每一步之后的参数，形状 (n_steps + 1, d)。"""
    w = np.zeros(X.shape[1])
    step = 1.0 / lipschitz(X, lam)
    path = [w.copy()]
    for _ in range(n_steps):
        w = w - step * grad(w, X, y, lam)
        path.append(w.copy())
    return np.array(path)


def newton_path(X, y, lam, n_steps):
    """牛顿法（与 fit_newton 相同的更新）的逐步参数。"""
    w = np.zeros(X.shape[1])
    path = [w.copy()]
    for _ in range(n_steps):
        w = w - np.linalg.solve(hessian(w, X, y, lam), grad(w, X, y, lam))
        path.append(w.copy())
    return np.array(path)


def plot_decision_boundary():
    """主实验的数据、拟合出的概率等高线与决策边界。"""
    X, y, w_true = make_data()
    w, _ = fit_newton(X, y, LAM)
    g = np.linspace(-3.2, 3.2, 121)
    G1, G2 = np.meshgrid(g, g)
    P = sigmoid(w[0] + w[1] * G1 + w[2] * G2)

    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    cf = ax.contourf(G1, G2, P, levels=np.linspace(0, 1, 11), cmap="cividis", alpha=0.55)
    cs = ax.contour(G1, G2, P, levels=[0.1, 0.25, 0.75, 0.9], colors="k", linewidths=0.6)
    ax.clabel(cs, fmt="%.2f", fontsize=8, colors=ink())
    ax.contour(G1, G2, P, levels=[0.5], colors="k", linewidths=1.8)
    # 真实边界 w_true^T x = 0
    ax.plot(g, -(w_true[0] + w_true[1] * g) / w_true[2], color="C3", lw=1.2, ls="--", label="真实边界")
    for cls, c, m, name in ((1, "C0", "o", "$y=1$"), (0, "C1", "^", "$y=0$")):
        ax.scatter(*X[y == cls, 1:].T, s=10, color=c, marker=m, lw=0.3, edgecolors="white",
                   label=name)
    ax.set_xlim(g[0], g[-1])
    ax.set_ylim(g[0], g[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper left", fontsize=9)
    fig.colorbar(cf, ax=ax, label=r"$\sigma(\boldsymbol{w}^\top\boldsymbol{x})$", shrink=0.85)
    return fig


def uncentred_data():
    """只有一个特征、且特征均值为 2（未中心化）的数据：截距与斜率强相关，损失的等高线是狭长的椭圆。"""
    X, y, _ = make_data(n=200, seed=3, w_true=(-0.5, 2.0))
    X[:, 1] += 2.0
    return X, y


def plot_optimizer_paths():
    """左：未中心化的单特征数据上，损失等高线与梯度下降、牛顿法的路径。
    右：k 步之后的梯度范数；主实验（两个标准化特征）与左图的数据各一组。"""
    X1, y1 = uncentred_data()
    gd, nt = gd_path(X1, y1, LAM, 2000), newton_path(X1, y1, LAM, 5)
    a = np.linspace(-4.6, 0.6, 81)
    b = np.linspace(-0.4, 2.2, 81)
    A, B = np.meshgrid(a, b)
    J = np.array([nll(np.array([u, v]), X1, y1, LAM) for u, v in zip(A.ravel(), B.ravel())])
    J = J.reshape(A.shape)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.5))
    ax.contour(A, B, J, levels=J.min() + np.geomspace(0.003, 3, 12), colors="C7", linewidths=0.7)
    ax.plot(gd[:, 0], gd[:, 1], "-", color="C0", lw=1.2, label="梯度下降")
    for k in (10, 100, 1000):                                            # 梯度下降走了 k 步的位置
        ax.plot(*gd[k], "o", color="C0", ms=4)
        ax.annotate(f"{k}", gd[k], xytext=(4, 5), textcoords="offset points", color="C0", fontsize=9)
    ax.plot(nt[:, 0], nt[:, 1], "o-", color="C3", ms=4, lw=1.4, label="牛顿法")
    ax.plot(*nt[-1], "*", color=ink(), ms=10, zorder=3)
    ax.set_xlabel("截距 $w_0$")
    ax.set_ylabel("斜率 $w_1$")
    ax.legend(loc="lower left", fontsize=9)

    X, y, _ = make_data()
    for (Xd, yd), ls, tag in (((X, y), "-", "主实验"), ((X1, y1), "--", "左图")):
        g_gd = [np.linalg.norm(grad(w, Xd, yd, LAM)) for w in gd_path(Xd, yd, LAM, 2000)]
        g_nt = [np.linalg.norm(grad(w, Xd, yd, LAM)) for w in newton_path(Xd, yd, LAM, 8)]
        k = np.arange(len(g_gd))
        bx.loglog(k[1:], g_gd[1:], ls, color="C0", lw=1.4, label=f"梯度下降，{tag}")
        bx.loglog(np.arange(1, len(g_nt)), g_nt[1:], ls, color="C3", lw=1.4, marker="o", ms=3,
                  label=f"牛顿法，{tag}")
    bx.axhline(1e-10, color="C7", lw=0.8, ls=":")
    bx.set_xlabel("迭代次数 $k$")
    bx.set_ylabel(r"$\|\nabla J(\boldsymbol{w})\|$")
    bx.set_ylim(1e-13, 1)
    bx.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.4, -0.2), ncol=2)
    return fig


def plot_separable():
    """可分数据：无正则的梯度下降让 ||w|| 无限增大，sigmoid 越来越陡；L2 正则给出有限的解。"""
    Xs = np.c_[np.ones(6), [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]]     # 与 logreg_numpy.main() 相同
    ys = np.array([0, 0, 0, 1, 1, 1], float)
    steps = np.unique(np.round(np.geomspace(1, 10_000, 60)).astype(int))
    path = gd_path(Xs, ys, 0.0, 10_000)
    w_reg, _ = fit_newton(Xs, ys, 0.1)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    x = np.linspace(-4, 4, 300)
    for k, c in ((100, "C2"), (1000, "C0"), (10_000, "C4")):
        w = path[k]
        ax.plot(x, sigmoid(w[0] + w[1] * x), color=c, lw=1.5, label=f"{k} 步")
    ax.plot(x, sigmoid(w_reg[0] + w_reg[1] * x), color="C1", lw=1.5, ls="--", label=r"$\lambda=0.1$")
    ax.scatter(Xs[:, 1], ys, color=ink(), s=18, zorder=3)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$p$")
    ax.legend(fontsize=9, loc="upper left")

    bx.semilogx(steps, np.linalg.norm(path[steps], axis=1), color="C0", lw=1.6, label="无正则")
    bx.axhline(np.linalg.norm(w_reg), color="C1", lw=1.5, ls="--", label=r"$\lambda=0.1$")
    bx.set_xlabel("梯度下降步数")
    bx.set_ylabel(r"$\|\boldsymbol{w}\|$")
    bx.set_ylim(0, None)
    bx.legend(fontsize=9, loc="upper left")
    return fig
