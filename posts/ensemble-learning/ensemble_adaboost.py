"""集成学习的三个小实验（纯 NumPy），外加独立分类器多数投票的错误率：

0. 多数投票：M 个错误率为 q、相互独立的分类器，投票出错的概率是二项分布的尾部。
1. AdaBoost + 决策树桩：记录每一轮的加权错误率 eps_t、系数 alpha_t、归一化因子 Z_t、
   训练错误率与理论上界 prod_t 2 sqrt(eps_t (1 - eps_t))。
2. Bagging 的方差：等相关预测器平均的方差 rho sigma^2 + (1 - rho) sigma^2 / M；
   以及对 1-近邻回归做 bagging 时方差的实际下降。
3. Stacking：用折外（out-of-fold）预测训练元学习器，对比直接用训练集内预测的"泄漏"版本。
"""
from math import comb

import numpy as np


# ================================================================ 多数投票
def majority_vote_error(q, M):
    """M（奇数）个独立分类器各以概率 q 出错时，多数投票出错的概率 sum_{r > M/2} C(M, r) q^r (1-q)^(M-r)。"""
    return sum(comb(M, r) * q ** r * (1 - q) ** (M - r) for r in range(M // 2 + 1, M + 1))


# ================================================================ AdaBoost
def fit_stump(X, y, w):
    """加权错误率最小的决策树桩 h(x) = s * sign(x_k - theta)（s = +1 或 -1）。

    y in {-1, +1}，w >= 0 且和为 1。枚举所有特征、相邻不同取值的中点（外加比所有样本都小的
    阈值，即常数分类器）和两种极性。返回 (k, theta, s, 加权错误率)。
    """
    n, m = X.shape
    best = (0, -np.inf, 1, np.inf)
    for k in range(m):
        order = np.argsort(X[:, k], kind="stable")
        xs, ys, ws = X[order, k], y[order], w[order]
        # 阈值放在第 j 个样本之后：左边 j 个样本预测 -s，右边预测 +s（j = 0 表示全部预测 +s）
        # s = +1 时的错误 = 左边 y = +1 的权重 + 右边 y = -1 的权重
        pos_left = np.concatenate([[0.0], np.cumsum(ws * (ys > 0))])
        neg_left = np.concatenate([[0.0], np.cumsum(ws * (ys < 0))])
        err_plus = pos_left + (neg_left[-1] - neg_left)
        err_minus = 1.0 - err_plus                              # 极性反过来，错对互换
        valid = np.concatenate([[True], xs[1:] > xs[:-1], [False]])   # 只在取值变化处切
        thr = np.concatenate([[xs[0] - 1.0], 0.5 * (xs[1:] + xs[:-1]), [np.inf]])
        for s, err in ((1, err_plus), (-1, err_minus)):
            e = np.where(valid, err, np.inf)
            j = int(np.argmin(e))
            if e[j] < best[3] - 1e-15:
                best = (k, float(thr[j]), s, float(e[j]))
    return best


def stump_predict(X, stump):
    k, theta, s, _ = stump
    return s * np.where(X[:, k] > theta, 1.0, -1.0)


def adaboost(X, y, T):
    """离散 AdaBoost（Freund & Schapire）。返回 dict，记录每一轮的全部量。"""
    n = len(y)
    w = np.full(n, 1.0 / n)
    F = np.zeros(n)
    rec = {k: [] for k in ("w", "stump", "eps", "alpha", "Z", "train_err", "exp_loss", "bound",
                           "err_after_reweight")}
    bound = 1.0
    for _ in range(T):
        rec["w"].append(w)                                      # 本轮训练树桩时的样本权重
        stump = fit_stump(X, y, w)
        h = stump_predict(X, stump)
        eps = float(w[h != y].sum())
        eps = min(max(eps, 1e-12), 1 - 1e-12)                  # 防止 log(0)
        alpha = 0.5 * np.log((1 - eps) / eps)
        unnorm = w * np.exp(-alpha * y * h)
        Z = float(unnorm.sum())
        w = unnorm / Z
        F += alpha * h
        bound *= 2.0 * np.sqrt(eps * (1 - eps))
        rec["stump"].append(stump)
        rec["eps"].append(eps)
        rec["alpha"].append(alpha)
        rec["Z"].append(Z)
        rec["train_err"].append(float(np.mean(np.sign(F) != y)))
        rec["exp_loss"].append(float(np.mean(np.exp(-y * F))))
        rec["bound"].append(bound)
        rec["err_after_reweight"].append(float(w[h != y].sum()))   # 新权重下 h_t 的错误率
    return {k: (v if k == "stump" else np.asarray(v)) for k, v in rec.items()}


def adaboost_predict(X, model):
    F = sum(a * stump_predict(X, s) for a, s in zip(model["alpha"], model["stump"]))
    return np.sign(F)


def circle_data(n=300, seed=0):
    """二维均匀分布，圆内为 +1、圆外为 -1；半径取 sqrt(2/pi)，使两类面积各占一半。"""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.where((X ** 2).sum(1) < 2 / np.pi, 1.0, -1.0)
    return X, y


# ================================================================ Bagging 的方差
def var_of_mean_formula(rho, sigma2, M):
    return rho * sigma2 + (1 - rho) * sigma2 / M


def simulate_equicorrelated_mean(rho, sigma2, M, n_sims, rng):
    """M 个等相关高斯（两两相关系数 rho、方差 sigma2）取平均，返回 n_sims 个样本。
    构造：X_m = sqrt(sigma2) (sqrt(rho) Z_0 + sqrt(1 - rho) Z_m)，Z 相互独立。"""
    Z0 = rng.standard_normal(n_sims)
    Zm = rng.standard_normal((n_sims, M))
    Xm = np.sqrt(sigma2) * (np.sqrt(rho) * Z0[:, None] + np.sqrt(1 - rho) * Zm)
    return Xm.mean(axis=1)


def regression_truth(x):
    return np.sin(3 * x) + 0.5 * x


def knn1_predict(x_train, y_train, x_test):
    d = np.abs(x_test[:, None] - x_train[None, :])
    return y_train[np.argmin(d, axis=1)]


def bagging_experiment(R=400, n=40, B=25, noise=0.5, seed=0):
    """重复抽 R 个训练集；每个训练集上得到单个 1-NN 的预测和 B 个自助样本 1-NN 的预测。
    返回 dict：测试点、单模型预测 (R, P)、每个 bagging 成员的预测 (R, B, P)。"""
    rng = np.random.default_rng(seed)
    x_test = np.linspace(-1.5, 1.5, 15)
    single = np.empty((R, len(x_test)))
    members = np.empty((R, B, len(x_test)))
    for r in range(R):
        x = rng.uniform(-2, 2, n)
        y = regression_truth(x) + noise * rng.standard_normal(n)
        single[r] = knn1_predict(x, y, x_test)
        for b in range(B):
            idx = rng.integers(0, n, n)
            members[r, b] = knn1_predict(x[idx], y[idx], x_test)
    return dict(x_test=x_test, single=single, members=members)


def bagging_summary(res):
    """在每个测试点上，对 R 个训练集求方差 / 协方差，再对测试点取平均。
    sigma2：单个自助成员的方差；rho：成员两两之间的平均相关系数；
    var_bag：B 个成员平均后的方差；var_single：在原训练集上直接训练的 1-NN 的方差。"""
    M = res["members"]
    R, B, P = M.shape
    sig2, rho = [], []
    for p in range(P):
        C = np.cov(M[:, :, p], rowvar=False)                    # B x B 协方差矩阵
        v = np.diag(C)
        sig2.append(v.mean())
        off = C[~np.eye(B, dtype=bool)]
        rho.append(off.mean() / v.mean())
    return dict(sigma2=float(np.mean(sig2)), rho=float(np.mean(rho)), B=B,
                var_bag=float(M.mean(axis=1).var(axis=0, ddof=1).mean()),
                var_single=float(res["single"].var(axis=0, ddof=1).mean()))


# ================================================================ Stacking
def ridge_fit(Phi, y, lam=1e-6):
    return np.linalg.solve(Phi.T @ Phi + lam * np.eye(Phi.shape[1]), Phi.T @ y)


def _knn(k, cols):
    """k-近邻回归，只用 cols 指定的输入列（欧氏距离）。"""
    def fit(X, y):
        Xc = X[:, cols]

        def predict(Xq):
            d = ((Xq[:, cols][:, None, :] - Xc[None, :, :]) ** 2).sum(-1)
            nn = np.argsort(d, axis=1, kind="stable")[:, :k]
            return y[nn].mean(axis=1)
        return predict
    return fit


def _linear(cols):
    def fit(X, y):
        coef = ridge_fit(np.c_[np.ones(len(X)), X[:, cols]], y)
        return lambda Xq: np.c_[np.ones(len(Xq)), Xq[:, cols]] @ coef
    return fit


def base_models():
    """三个"各有所长"的基模型：两维 1-NN（零训练误差）、只看 x1 的 10-NN、只看 x2 的线性回归。"""
    return {"1-NN(x1,x2)": _knn(1, [0, 1]), "10-NN(x1)": _knn(10, [0]), "linear(x2)": _linear([1])}


def stacking_truth(X):
    return np.sin(3 * X[:, 0]) + X[:, 1]


def out_of_fold_predictions(X, y, models, n_folds=5, seed=0):
    """每个样本的预测都来自没有见过它的模型。返回 (n, 模型数) 矩阵。"""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(X)) % n_folds
    P = np.empty((len(X), len(models)))
    for f in range(n_folds):
        tr, te = fold != f, fold == f
        for j, fit in enumerate(models.values()):
            P[te, j] = fit(X[tr], y[tr])(X[te])
    return P


def stacking_experiment(n=300, n_test=2000, noise=0.5, seed=1):
    """y = sin(3 x1) + x2 + 噪声。元学习器是带截距的线性回归（最小二乘）。"""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 2))
    y = stacking_truth(X) + noise * rng.standard_normal(n)
    Xt = rng.uniform(-2, 2, (n_test, 2))
    yt = stacking_truth(Xt) + noise * rng.standard_normal(n_test)
    models = base_models()
    fitted = [fit(X, y) for fit in models.values()]
    P_in = np.column_stack([f(X) for f in fitted])              # 训练集内预测（会泄漏）
    P_oof = out_of_fold_predictions(X, y, models)
    P_test = np.column_stack([f(Xt) for f in fitted])           # 测试时用全量重训的基模型
    out = {"names": list(models), "test_mse_base": ((P_test - yt[:, None]) ** 2).mean(0),
           "train_mse_base": ((P_in - y[:, None]) ** 2).mean(0), "noise_var": noise ** 2}
    for tag, P in (("in_sample", P_in), ("oof", P_oof)):
        beta = ridge_fit(np.c_[np.ones(n), P], y)
        out[f"weights_{tag}"] = beta
        out[f"test_mse_{tag}"] = float(((np.c_[np.ones(n_test), P_test] @ beta - yt) ** 2).mean())
    return out


def main():
    X, y = circle_data()
    model = adaboost(X, y, 200)
    print("AdaBoost + 树桩，300 个样本（圆内 / 圆外）")
    print(" 轮次   eps_t   alpha_t  训练错误率   上界 prod 2sqrt(eps(1-eps))  指数损失")
    for t in (1, 2, 3, 5, 10, 20, 50, 100, 200):
        i = t - 1
        print(f"{t:5d}  {model['eps'][i]:.4f}  {model['alpha'][i]:.4f}   {model['train_err'][i]:.4f}"
              f"        {model['bound'][i]:.4f}                  {model['exp_loss'][i]:.4f}")
    err = model["train_err"]
    up = [t + 2 for t in np.flatnonzero(np.diff(err) > 0)]          # 训练错误率比上一轮高的轮次
    flat = [t + 2 for t in np.flatnonzero(np.diff(err) == 0)]
    print(f" 200 轮中 eps_t 的范围: [{model['eps'].min():.4f}, {model['eps'].max():.4f}]；"
          f"上界每轮严格下降: {bool(np.all(np.diff(model['bound']) < 0))}")
    print(f" 训练错误率与上一轮持平的轮数 {len(flat)}（含第 2 轮: {2 in flat}），回升的轮数 {len(up)}")
    Xt, yt = circle_data(5000, seed=99)
    print(f" 200 轮后测试错误率（5000 个新样本）: {np.mean(adaboost_predict(Xt, model) != yt):.4f}")

    rng = np.random.default_rng(0)
    print("\n等相关预测器平均的方差（sigma^2 = 1，M = 10）：")
    for rho in (0.0, 0.3, 0.7):
        m = simulate_equicorrelated_mean(rho, 1.0, 10, 200_000, rng)
        print(f"  rho = {rho}: 模拟 {m.var():.4f}，公式 {var_of_mean_formula(rho, 1.0, 10):.4f}")

    b = bagging_summary(bagging_experiment())
    print("\n1-NN 回归 bagging（M = 25 个成员，400 个独立训练集，15 个测试点平均）：")
    print(f"  直接训练的 1-NN 方差 {b['var_single']:.4f}；单个自助成员方差 sigma^2 = {b['sigma2']:.4f}；"
          f"成员间平均相关 rho = {b['rho']:.3f}")
    print(f"  bagging 平均的方差 {b['var_bag']:.4f}；公式 rho sigma^2 + (1-rho) sigma^2 / M = "
          f"{var_of_mean_formula(b['rho'], b['sigma2'], b['B']):.4f}；M -> 无穷的下限 rho sigma^2 = "
          f"{b['rho'] * b['sigma2']:.4f}")

    st = stacking_experiment()
    print("\nStacking（y = sin(3 x1) + x2 + 噪声，噪声方差 0.25）：")
    for name, tr, te in zip(st["names"], st["train_mse_base"], st["test_mse_base"]):
        print(f"  {name:12s} 训练 MSE {tr:.4f}  测试 MSE {te:.4f}")
    for tag in ("in_sample", "oof"):
        w = ", ".join(f"{round(float(v), 6) + 0.0:+.3f}" for v in st[f"weights_{tag}"])   # 不打印 "-0.000"
        print(f"  元学习器（{tag}）: 截距与权重 [{w}]，测试 MSE {st[f'test_mse_{tag}']:.4f}")

    print("\n独立分类器多数投票的错误率（每个的错误率 q = 0.3）：",
          "  ".join(f"M = {M}: {majority_vote_error(0.3, M):.3g}" for M in (1, 5, 21, 101)))


if __name__ == "__main__":
    main()
