"""随机逼近：增量均值、Robbins–Monro 求根、常数步长对照、Polyak–Ruppert 平均与 Kiefer–Wolfowitz。
所有实验都把 R 条独立的链并排放在一个数组里向量化运行，随机数来自固定种子。"""
import numpy as np


# ---------------------------------------------------------------- 增量均值
def incremental_mean(x, w1=0.0):
    """w_{k+1} = w_k - (1/k)(w_k - x_k)，k = 1..K，沿第 0 轴进行（x 可以是 (K,) 或 (K, R)）。
    返回 (w_2, ..., w_{K+1})。w_1 的取值不影响结果。"""
    x = np.asarray(x, float)
    w, out = np.full(x.shape[1:], float(w1)), np.empty_like(x)
    for k in range(1, len(x) + 1):
        w = w - (w - x[k - 1]) / k
        out[k - 1] = w
    return out


def constant_step_mean(x, alpha, w1=0.0):
    """常数步长 w_{k+1} = w_k - alpha (w_k - x_k)：指数滑动平均。"""
    x = np.asarray(x, float)
    w, out = np.full(x.shape[1:], float(w1)), np.empty_like(x)
    for k in range(len(x)):
        w = w - alpha * (w - x[k])
        out[k] = w
    return out


# ---------------------------------------------------------------- Robbins–Monro
def g_tanh(w):
    """单调递增的回归函数 g(w) = tanh(w) + 0.2 w - 1，导数在 (0.2, 1.2] 之间。"""
    return np.tanh(w) + 0.2 * w - 1.0


def dg_tanh(w):
    return 1.0 - np.tanh(w) ** 2 + 0.2


def root_bisect(g, lo=-10.0, hi=10.0, iters=200):
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def robbins_monro(g, w1, steps, K, noise_sd=1.0, R=2000, seed=0, checkpoints=(), average_from=None):
    """R 条独立链：w_{k+1} = w_k - a_k * (g(w_k) + eta_k)，eta_k ~ N(0, noise_sd^2)。
    steps(k) 给出 a_k（k 从 1 开始）。返回 {k: w_{k+1} 数组}（k 属于 checkpoints），以及可选的
    Polyak–Ruppert 平均 {k: 从 average_from 起的迭代平均}。"""
    rng = np.random.default_rng(seed)
    w = np.full(R, float(w1))
    cps, out, avg_out = set(checkpoints), {}, {}
    s, cnt = np.zeros(R), 0
    for k in range(1, K + 1):
        w = w - steps(k) * (g(w) + noise_sd * rng.standard_normal(R))
        if average_from is not None and k >= average_from:
            s += w
            cnt += 1
        if k in cps:
            out[k] = w.copy()
            if cnt:
                avg_out[k] = s / cnt
    return out, avg_out


def linear_mse_exact(c, steps, e1, K, noise_sd=1.0, checkpoints=()):
    """线性 g(w) = c (w - w*) 时均方误差的精确递推：
    u_{k+1} = (1 - a_k c)^2 u_k + a_k^2 sigma^2，同时返回均值 m_{k+1} = (1 - a_k c) m_k。"""
    u, m, cps, out = e1 ** 2, e1, set(checkpoints), {}
    for k in range(1, K + 1):
        a = steps(k)
        u = (1 - a * c) ** 2 * u + a * a * noise_sd ** 2
        m = (1 - a * c) * m
        if k in cps:
            out[k] = (u, m)
    return out


def asymptotic_mse_const(a, c, noise_sd=1.0):
    """a_k = a / k、2ac > 1 时 k * E[(w_k - w*)^2] 的极限 a^2 sigma^2 / (2ac - 1)。"""
    assert 2 * a * c > 1
    return a * a * noise_sd ** 2 / (2 * a * c - 1)


def constant_step_plateau(alpha, c, noise_sd=1.0):
    """常数步长、线性化后的稳态方差 alpha sigma^2 / (c (2 - alpha c))。"""
    return alpha * noise_sd ** 2 / (c * (2 - alpha * c))


def deterministic_residual(c, a):
    """a_k = a / k^2、无噪声线性问题：e_inf / e_1 = prod_k (1 - a c / k^2) = sin(pi z) / (pi z)，z = sqrt(a c)。"""
    z = np.sqrt(a * c)
    return np.sin(np.pi * z) / (np.pi * z)


# ---------------------------------------------------------------- Kiefer–Wolfowitz
def kiefer_wolfowitz(J, w1, K, a=1.0, kappa=1.0, R=2000, seed=0, checkpoints=()):
    """只能观测带噪声的函数值 Y(w) = J(w) + nu，用中心差分估计梯度：
    w_{k+1} = w_k - a_k * [Y(w_k + kappa_k) - Y(w_k - kappa_k)] / (2 kappa_k)，a_k = a / k，kappa_k = kappa / k^{1/4}。"""
    rng = np.random.default_rng(seed)
    w, cps, out = np.full(R, float(w1)), set(checkpoints), {}
    for k in range(1, K + 1):
        ak, kk = a / k, kappa / k ** 0.25
        yp = J(w + kk) + rng.standard_normal(R)
        ym = J(w - kk) + rng.standard_normal(R)
        w = w - ak * (yp - ym) / (2 * kk)
        if k in cps:
            out[k] = w.copy()
    return out


def kw_asymptotic_mse(k, a=1.0, kappa=1.0, curvature=1.0, noise_sd=1.0):
    """a_k = a/k、kappa_k = kappa/k^{1/4} 时 KW 的渐近均方误差 C_KW k^{-1/2}（忽略 O(kappa_k^2) 的偏差）：
    差分商的噪声方差为 sigma^2 / (2 kappa_k^2)，代入 u_{k+1} = (1 - 2 a h / k) u_k + a^2 sigma^2 sqrt(k) / (2 kappa^2 k^2)
    并令 u_k = C_KW k^{-1/2}，得 C_KW = a^2 sigma^2 / (2 kappa^2 (2 a h - 1/2))。"""
    C = a * a * noise_sd ** 2 / (2 * kappa * kappa * (2 * a * curvature - 0.5))
    return C / np.sqrt(k)


def main():
    sigma = 1.0
    # 1) 增量均值
    x = np.random.default_rng(0).normal(3.0, 2.0, 10_000)
    w = incremental_mean(x, w1=100.0)
    print("增量均值与 np.cumsum/k 一致（最大差 < 1e-12）:", np.max(np.abs(w - np.cumsum(x) / np.arange(1, len(x) + 1))) < 1e-12)

    # 2) 非线性 RM：g(w) = tanh(w) + 0.2 w - 1
    w_star = root_bisect(g_tanh)
    c = dg_tanh(w_star)
    print(f"根 w* = {w_star:.6f}，g'(w*) = c = {c:.4f}，最优系数 a = 1/c = {1 / c:.3f}")
    K, cps = 10_000, (10, 100, 1000, 10_000)
    print(f"{'a_k':>12} " + " ".join(f"{'k=' + str(k):>22}" for k in cps))
    for name, steps, theory in (
            ("1/k", lambda k: 1.0 / k, asymptotic_mse_const(1.0, c)),
            ("(1/c)/k", lambda k: (1 / c) / k, asymptotic_mse_const(1 / c, c)),
            ("2/k", lambda k: 2.0 / k, asymptotic_mse_const(2.0, c)),
            ("0.3/k", lambda k: 0.3 / k, None),
            ("1/sqrt(k)", lambda k: k ** -0.5, None),
            ("0.1 常数", lambda k: 0.1, None)):
        out, _ = robbins_monro(g_tanh, -3.0, steps, K, sigma, checkpoints=cps, seed=1)
        row = []
        for k in cps:
            mse = np.mean((out[k] - w_star) ** 2)
            row.append(f"{mse:.2e}" + (f" (理论 {theory / (k + 1):.2e})" if theory else " " * 15))
        print(f"{name:>12} " + " ".join(f"{r:>22}" for r in row))
    print(f"常数步长 0.1 的线性化稳态方差: {constant_step_plateau(0.1, c):.3e}")

    # 3) Polyak–Ruppert 平均
    out, avg = robbins_monro(g_tanh, -3.0, lambda k: k ** -0.7, K, sigma, checkpoints=cps, seed=2, average_from=1)
    for k in (1000, 10_000):
        print(f"a_k = k^-0.7，k={k}: 末次迭代 MSE={np.mean((out[k] - w_star) ** 2):.2e}  "
              f"迭代平均 MSE={np.mean((avg[k] - w_star) ** 2):.2e}  下界 sigma^2/(c^2 k)={sigma ** 2 / (c * c * k):.2e}")

    # 4) 步长之和有限：无噪声线性问题停在半路
    e = 1.0
    for k in range(1, 100_001):
        e *= 1 - 0.5 / k ** 2
    print(f"a_k = 0.5/k^2、c = 1、无噪声：e_K / e_1 = {e:.6f}，闭式 sin(pi z)/(pi z) = {deterministic_residual(1.0, 0.5):.6f}")

    # 5) Kiefer–Wolfowitz：最小化 J(w) = log cosh(w - 1.5)，只能观测带噪声的函数值
    kw = kiefer_wolfowitz(lambda w: np.log(np.cosh(w - 1.5)), -2.0, 10_000, checkpoints=cps, seed=3)
    print("Kiefer–Wolfowitz RMSE:", {k: round(float(np.sqrt(np.mean((kw[k] - 1.5) ** 2))), 4) for k in cps},
          f" 理论 k=10000: {np.sqrt(kw_asymptotic_mse(10_000)):.4f}")


if __name__ == "__main__":
    main()
