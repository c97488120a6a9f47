"""逻辑回归的纯 NumPy 实现：梯度下降、牛顿法 / IRLS、L1 的近端梯度、多分类 softmax。

约定：设计矩阵 X 的第 0 列全为 1（截距），截距不参与正则化。二分类标签 y in {0, 1}。
目标函数（平均负对数似然 + L2）：
    J(w) = (1/n) sum_i [log(1 + exp(z_i)) - y_i z_i] + (lam/2) sum_{j>=1} w_j^2,   z = X w
    grad = X^T (p - y) / n + lam * D w,        p = sigmoid(z)，D = diag(0, 1, ..., 1)
    Hess = X^T S X / n + lam * D,              S = diag(p (1 - p))
"""
import numpy as np


# ---------------------------------------------------------------- 基本函数
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))          # = 1/(1+e^{-z})，对很大的 |z| 也不溢出


def sample_logistic(n, rng, mu=0.0, s=1.0):
    """逆变换采样：F^{-1}(u) = mu + s * log(u / (1 - u))。"""
    u = rng.random(n)
    return mu + s * (np.log(u) - np.log1p(-u))


def penalty_mask(d):
    D = np.ones(d)
    D[0] = 0.0                                      # 不惩罚截距
    return D


def nll(w, X, y, lam=0.0):
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * np.sum(penalty_mask(len(w)) * w * w))


def grad(w, X, y, lam=0.0):
    p = sigmoid(X @ w)
    return X.T @ (p - y) / len(y) + lam * penalty_mask(len(w)) * w


def hessian(w, X, y, lam=0.0):
    p = sigmoid(X @ w)
    s = p * (1 - p)
    return (X.T * s) @ X / len(y) + lam * np.diag(penalty_mask(len(w)))


# ---------------------------------------------------------------- 优化算法
def lipschitz(X, lam):
    """梯度的 Lipschitz 常数上界：p(1-p) <= 1/4，故 Hess <= X^T X / (4n) + lam I。"""
    return np.linalg.eigvalsh(X.T @ X)[-1] / (4 * len(X)) + lam


def fit_gd(X, y, lam=0.0, tol=1e-10, max_iter=200_000):
    """步长 1/L 的梯度下降。返回 (w, 迭代次数)。"""
    w = np.zeros(X.shape[1])
    step = 1.0 / lipschitz(X, lam)
    for it in range(1, max_iter + 1):
        g = grad(w, X, y, lam)
        if np.linalg.norm(g) < tol:
            return w, it
        w -= step * g
    return w, max_iter


def fit_newton(X, y, lam=0.0, tol=1e-12, max_iter=50):
    """牛顿法。返回 (w, 每次迭代前的梯度范数列表)。"""
    w = np.zeros(X.shape[1])
    norms = []
    for _ in range(max_iter):
        g = grad(w, X, y, lam)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        w -= np.linalg.solve(hessian(w, X, y, lam), g)
    return w, norms


def irls_step(w, X, y, lam=0.0):
    """一步迭代重加权最小二乘：对"工作响应" u = Xw + (y - p)/s 做以 s 为权重的（岭）回归。"""
    n = len(y)
    p = sigmoid(X @ w)
    s = p * (1 - p)
    u = X @ w + (y - p) / s
    A = (X.T * s) @ X + n * lam * np.diag(penalty_mask(len(w)))
    return np.linalg.solve(A, (X.T * s) @ u)


def fit_l1(X, y, lam1, n_iter=5000):
    """L1 正则（不罚截距）的 FISTA：梯度步 + 软阈值。目标 (1/n) sum NLL + lam1 * ||w[1:]||_1。"""
    L = lipschitz(X, 0.0)
    mask = penalty_mask(X.shape[1])
    w = v = np.zeros(X.shape[1])
    t = 1.0
    for _ in range(n_iter):
        u = v - grad(v, X, y) / L
        w_new = np.sign(u) * np.maximum(np.abs(u) - mask * lam1 / L, 0.0)   # 软阈值（近端算子）
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        v = w_new + (t - 1) / t_new * (w_new - w)
        w, t = w_new, t_new
    return w


# ---------------------------------------------------------------- softmax 多分类
def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def softmax_nll(W, X, y, lam=0.0):
    Z = X @ W
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]) + 0.5 * lam * np.sum(W[1:] ** 2))


def softmax_grad(W, X, y, lam=0.0):
    P = softmax(X @ W)
    P[np.arange(len(y)), y] -= 1.0                  # P - Y（Y 为独热标签）
    G = X.T @ P / len(y)
    G[1:] += lam * W[1:]
    return G


def fit_softmax(X, y, K, lam=0.0, tol=1e-9, max_iter=200_000):
    """梯度下降；softmax 的黑塞矩阵 <= (1/2) X^T X / n (x) I + lam，据此取步长。"""
    W = np.zeros((X.shape[1], K))
    step = 1.0 / (np.linalg.eigvalsh(X.T @ X)[-1] / (2 * len(X)) + lam)
    for it in range(1, max_iter + 1):
        G = softmax_grad(W, X, y, lam)
        if np.linalg.norm(G) < tol:
            break
        W -= step * G
    return W, it


# ---------------------------------------------------------------- 数据
def make_data(n=500, seed=0, w_true=(-0.5, 2.0, -1.0)):
    """潜变量模型：y = 1[w^T x + eps > 0]，eps ~ Logistic(0, 1)。于是 P(y=1|x) = sigmoid(w^T x)。"""
    rng = np.random.default_rng(seed)
    w_true = np.asarray(w_true, float)
    X = np.c_[np.ones(n), rng.normal(size=(n, len(w_true) - 1))]
    y = (X @ w_true + sample_logistic(n, rng) > 0).astype(float)
    return X, y, w_true


def main():
    X, y, w_true = make_data()
    lam = 0.01
    w_gd, it_gd = fit_gd(X, y, lam)
    w_nt, norms = fit_newton(X, y, lam)
    print(f"真实参数 {w_true}")
    # 最后一个梯度范数已低于 tol，只剩舍入误差（其数值随 BLAS 而变），只报告它低于 tol
    print(f"牛顿法  w = {np.round(w_nt, 6)}，{len(norms) - 1} 步，梯度范数:",
          " ".join(f"{v:.1e}" for v in norms[:-1]), "< 1e-12")
    print(f"梯度下降 w = {np.round(w_gd, 6)}，{it_gd} 步；两者最大差 {np.max(np.abs(w_gd - w_nt)):.0e}")

    w = np.array([0.3, -0.7, 1.1])
    h = 1e-6
    fd = np.array([(nll(w + h * e, X, y, lam) - nll(w - h * e, X, y, lam)) / (2 * h) for e in np.eye(3)])
    g = grad(w, X, y, lam)
    print(f"有限差分梯度检验: 相对误差 {np.linalg.norm(fd - g) / np.linalg.norm(g):.0e}")

    w0, _ = fit_newton(X, y, 0.0)
    p = sigmoid(X @ w0)
    se = np.sqrt(np.diag(np.linalg.inv(hessian(w0, X, y) * len(y))))
    print(f"无正则 MLE {np.round(w0, 4)}，标准误 {np.round(se, 4)}，z = {np.round((w0 - w_true) / se, 2)}")
    print(f"矩匹配: mean(p) = {p.mean():.6f}，mean(y) = {y.mean():.6f}")

    # 线性可分的 6 个点：无正则时 ||w|| 随步数一直增大，加 L2 后有有限的极小点
    Xsep = np.c_[np.ones(6), [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]]
    ysep = np.array([0, 0, 0, 1, 1, 1], float)
    for k in (100, 1000, 10_000):
        wk = fit_gd(Xsep, ysep, 0.0, max_iter=k)[0]
        print(f"可分数据 梯度下降 {k:5d} 步: ||w|| = {np.linalg.norm(wk):.2f}，损失 {nll(wk, Xsep, ysep):.1e}")
    w_sep, norms_sep = fit_newton(Xsep, ysep, 0.1)
    print(f"可分数据 lam = 0.1 牛顿法 {len(norms_sep) - 1} 步收敛: ||w|| = {np.linalg.norm(w_sep):.2f}")

    rng = np.random.default_rng(1)
    Xs = np.c_[np.ones(400), rng.normal(size=(400, 8))]
    ys = (rng.random(400) < sigmoid(Xs[:, :4] @ np.array([0.2, 1.5, -1.0, 0.8]))).astype(float)
    for lam1 in (0.01, 0.05, 0.1):
        w1 = fit_l1(Xs, ys, lam1)
        print(f"L1 lam1 = {lam1}: 非零系数 {int(np.sum(np.abs(w1[1:]) > 1e-10))} / 8，w = {np.round(w1, 3) + 0.0}")   # + 0.0 去掉 "-0." 的符号


if __name__ == "__main__":
    main()
