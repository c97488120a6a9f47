"""Rectified Flow 的数值实验（纯 NumPy）。

记号（与 Liu 等的论文一致）：X_0 ~ pi_0 = N(0, I) 为噪声，X_1 ~ pi_1 为数据，
X_t = t X_1 + (1 - t) X_0，最优速度场 v(x, t) = E[X_1 - X_0 | X_t = x]。

1. 高斯 -> 高斯：v 是 x 的仿射函数，1-rectified flow 的映射恰好是最优传输映射 mu + Sigma^{1/2} z；
   再做一次 reflow 得到的 2-rectified flow 是直线，Euler 一步就精确。
2. 噪声 -> 各向同性高斯混合：E[X_1 - X_0 | X_t = x] 有闭式解；测 Euler 步数与误差的关系、直线度。
3. 一维 reflow：1-rectified flow 的映射是单调的（= 一维最优传输）；理想 reflow 的速度场可由
   单调插值精确求出，也可以像实际训练那样从样本对回归（这里用 Nadaraya-Watson 核回归）。
"""
import numpy as np


# ================================================================ ODE 求解
def euler(v, z0, n_steps, t0=0.0, t1=1.0):
    z = np.array(z0, float)
    h = (t1 - t0) / n_steps
    for i in range(n_steps):
        z = z + h * v(z, t0 + i * h)
    return z


def rk4_path(v, z0, n_steps):
    """RK4 从 t = 0 积分到 1，返回时间网格与整条轨迹（形状 (n_steps + 1, n, d)）。"""
    z = np.array(z0, float)
    h = 1.0 / n_steps
    path = [z]
    for i in range(n_steps):
        t = i * h
        k1 = v(z, t)
        k2 = v(z + 0.5 * h * k1, t + 0.5 * h)
        k3 = v(z + 0.5 * h * k2, t + 0.5 * h)
        k4 = v(z + h * k3, t + h)
        z = z + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(z)
    return np.linspace(0.0, 1.0, n_steps + 1), np.stack(path)


def straightness(v, z0, n_steps=200):
    """S(Z) = ∫_0^1 E||(Z_1 - Z_0) - v(Z_t, t)||^2 dt，沿 RK4 轨迹用梯形公式积分。"""
    ts, path = rk4_path(v, z0, n_steps)
    disp = path[-1] - path[0]
    dev = np.array([np.mean(np.sum((disp - v(path[i], t)) ** 2, axis=-1)) for i, t in enumerate(ts)])
    return float(np.trapezoid(dev, ts)), path


# ================================================================ 1. 高斯 -> 高斯
def sqrtm_psd(S):
    w, U = np.linalg.eigh(S)
    return (U * np.sqrt(w)) @ U.T


class GaussianRF:
    """pi_0 = N(0, I)，pi_1 = N(mu, Sigma)，独立耦合下的精确速度场：
    v(x, t) = mu + A_t (x - t mu)，A_t = (t Sigma - (1 - t) I) C_t^{-1}，C_t = (1 - t)^2 I + t^2 Sigma。"""

    def __init__(self, mu, Sigma):
        self.mu, self.Sigma = np.asarray(mu, float), np.asarray(Sigma, float)
        self.d = len(self.mu)
        self.root = sqrtm_psd(self.Sigma)

    def v(self, x, t):
        I = np.eye(self.d)
        C = (1 - t) ** 2 * I + t ** 2 * self.Sigma
        A = np.linalg.solve(C, (t * self.Sigma - (1 - t) * I).T).T      # A C = t Sigma - (1-t) I
        return self.mu + (x - t * self.mu) @ A.T

    def ot_map(self, z):
        """N(0, I) -> N(mu, Sigma) 的 W2 最优传输映射。"""
        return self.mu + z @ self.root.T

    def v_reflow(self, x, t):
        """对确定性耦合 (Z_0, mu + Sigma^{1/2} Z_0) 再做一次 rectify：
        Z_t = M_t Z_0 + t mu，M_t = (1 - t) I + t Sigma^{1/2}，于是 v_2(x, t) = (Sigma^{1/2} - I) M_t^{-1} (x - t mu) + mu。"""
        M = (1 - t) * np.eye(self.d) + t * self.root
        z0 = np.linalg.solve(M, (x - t * self.mu).T).T
        return self.mu + z0 @ (self.root - np.eye(self.d)).T

    def cost_independent(self):
        return float(self.mu @ self.mu + np.trace(self.Sigma) + self.d)

    def cost_ot(self):
        R = self.root - np.eye(self.d)
        return float(self.mu @ self.mu + np.trace(R @ R))


# ================================================================ 2. 噪声 -> 各向同性高斯混合
class MixtureRF:
    """pi_1 = sum_j w_j N(mu_j, s_j^2 I)（d 维）。给定分量 j，(X_1 - X_0, X_t) 联合高斯：
    Var(X_t|j) = gamma_j I，gamma_j = (1-t)^2 + t^2 s_j^2；Cov(X_1 - X_0, X_t | j) = (t s_j^2 - (1 - t)) I。"""

    def __init__(self, w, mu, s):
        self.w = np.asarray(w, float)
        self.mu = np.atleast_2d(np.asarray(mu, float))
        if self.mu.shape[0] != len(self.w):
            self.mu = self.mu.T
        self.s = np.asarray(s, float)
        self.d = self.mu.shape[1]

    def sample(self, n, rng):
        k = rng.choice(len(self.w), size=n, p=self.w)
        return self.mu[k] + self.s[k, None] * rng.standard_normal((n, self.d))

    def v(self, x, t):
        x = np.asarray(x, float)
        s2 = self.s ** 2
        gamma = (1 - t) ** 2 + t ** 2 * s2                              # (分量数,)
        diff = x[:, None, :] - t * self.mu[None]                        # (n, 分量数, d)
        logw = np.log(self.w) - 0.5 * self.d * np.log(gamma) - 0.5 * np.sum(diff ** 2, -1) / gamma
        r = np.exp(logw - logw.max(1, keepdims=True))
        r /= r.sum(1, keepdims=True)
        cond = self.mu[None] + ((t * s2 - (1 - t)) / gamma)[None, :, None] * diff
        return np.einsum("nk,nkd->nd", r, cond)

    def mean(self):
        return self.w @ self.mu

    def cov(self):
        m = self.mean()
        return sum(w * (np.outer(mu - m, mu - m) + s ** 2 * np.eye(self.d))
                   for w, mu, s in zip(self.w, self.mu, self.s))

    # ---- 一维专用：分布函数与分位数，用于构造一维最优传输映射
    def cdf_1d(self, x):
        from math import erf, sqrt
        z = (np.asarray(x, float)[..., None] - self.mu[:, 0]) / (sqrt(2) * self.s)
        return 0.5 * (1 + np.vectorize(erf)(z)) @ self.w

    def quantile_1d(self, u, lo=-20.0, hi=20.0, iters=80):
        a, b = np.full_like(u, lo), np.full_like(u, hi)
        for _ in range(iters):                      # 二分法：cdf 单调
            m = 0.5 * (a + b)
            left = self.cdf_1d(m) < u
            a, b = np.where(left, m, a), np.where(left, b, m)
        return 0.5 * (a + b)


def default_mixture_2d():
    ang = np.pi / 2 * np.arange(4) + np.pi / 4
    return MixtureRF(w=[0.4, 0.3, 0.2, 0.1], mu=np.stack([3 * np.cos(ang), 3 * np.sin(ang)], 1),
                     s=[0.3, 0.3, 0.3, 0.3])


def default_mixture_1d():
    return MixtureRF(w=[0.5, 0.3, 0.2], mu=[[-2.0], [0.5], [3.0]], s=[0.4, 0.3, 0.6])


def standard_normal_quantile(u):
    """Phi^{-1}，对 erf 做二分（只用于测试与参照，速度不是重点）。"""
    from math import erf, sqrt
    a, b = np.full_like(u, -12.0), np.full_like(u, 12.0)
    cdf = np.vectorize(lambda x: 0.5 * (1 + erf(x / sqrt(2))))
    for _ in range(80):
        m = 0.5 * (a + b)
        left = cdf(m) < u
        a, b = np.where(left, m, a), np.where(left, b, m)
    return 0.5 * (a + b)


# ================================================================ 3. 一维 reflow
class MonotoneCoupling1D:
    """确定性单调耦合 z0 -> T(z0)（在网格上线性插值）。直线插值 x = (1-t) z0 + t T(z0) 对 z0 严格递增，
    所以给定 (x, t) 可以唯一反解 z0，于是 reflow 的速度场 v_2(x, t) = T(z0) - z0 有精确值。"""

    def __init__(self, grid, T_grid):
        self.grid, self.T = np.asarray(grid, float), np.asarray(T_grid, float)

    def __call__(self, z0):
        return np.interp(z0, self.grid, self.T)

    def v(self, x, t):
        xs = (1 - t) * self.grid + t * self.T            # 严格递增
        z0 = np.interp(x[:, 0], xs, self.grid)
        return (np.interp(z0, self.grid, self.T) - z0)[:, None]


def rectified_map_1d(rf, grid, n_steps=200):
    """用 RK4 把 1-rectified flow 的映射 T(z0) 在网格上算出来。"""
    _, path = rk4_path(rf.v, grid[:, None], n_steps)
    return path[-1, :, 0]


def nw_reflow_velocity(z0, z1, bandwidth):
    """从样本对 (z0_i, z1_i) 用 Nadaraya-Watson 核回归估计 E[Z1 - Z0 | Z_t = x]（一维）。"""
    z0, z1 = np.asarray(z0, float).ravel(), np.asarray(z1, float).ravel()
    disp = z1 - z0

    def v(x, t):
        xt = (1 - t) * z0 + t * z1
        logk = -0.5 * ((x[:, :1] - xt[None, :]) / bandwidth) ** 2
        k = np.exp(logk - logk.max(1, keepdims=True))
        return ((k @ disp) / k.sum(1))[:, None]

    return v


# ================================================================ 演示
def transport_costs_1d(mix, T_grid, grid):
    """一维精确传输代价（网格上的梯形公式，权重为标准正态密度）：
    独立耦合 E|X1 - X0|^2 = E X1^2 + 1；1-RF 的 ∫ (T(z) - z)^2 phi(z) dz；
    以及 W2^2 = ∫ (F1^{-1}(Phi(z)) - z)^2 phi(z) dz，其中分位数映射只用分布函数和二分法算出，与 ODE 无关。"""
    from math import erf
    indep = float(mix.w @ (mix.mu[:, 0] ** 2 + mix.s ** 2)) + 1.0
    phi = np.exp(-0.5 * grid ** 2) / np.sqrt(2 * np.pi)
    rf = float(np.trapezoid((T_grid - grid) ** 2 * phi, grid))
    q = mix.quantile_1d(0.5 * (1 + np.vectorize(erf)(grid / np.sqrt(2))))
    w2 = float(np.trapezoid((q - grid) ** 2 * phi, grid))
    return indep, rf, w2


def mean_sq_velocity(mix, n, rng, n_t=16):
    """∫_0^1 E||v(X_t, t)||^2 dt（对 t 用 Gauss-Legendre，对 X_t 用蒙特卡洛）。返回 (值, 标准误)。"""
    nodes, weights = np.polynomial.legendre.leggauss(n_t)
    vals = np.zeros(n)
    for x, w in zip(0.5 * (nodes + 1), 0.5 * weights):
        xt = x * mix.sample(n, rng) + (1 - x) * rng.standard_normal((n, mix.d))
        vals += w * np.sum(mix.v(xt, x) ** 2, axis=1)
    return float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(n))


def main():
    rng = np.random.default_rng(0)
    print("== 1 高斯 -> 高斯（d = 2）")
    g = GaussianRF(mu=[2.0, -1.0], Sigma=[[2.0, 0.8], [0.8, 0.6]])
    z0 = rng.standard_normal((2000, 2))
    _, path = rk4_path(g.v, z0, 100)
    print(f"  1-RF 映射与 OT 映射 mu + Sigma^(1/2) z 的最大差 = {np.max(np.abs(path[-1] - g.ot_map(z0))):.1e}")
    # 只剩舍入误差的量（约 1e-16 量级，随平台略有不同）只打印它是否低于一个阈值
    collapse = np.max(np.abs(euler(g.v, z0, 1) - g.mu))
    print(f"  Euler 一步（1-RF）: 输出与均值 {g.mu} 的最大偏差 < 1e-12: {bool(collapse < 1e-12)}")
    S1, _ = straightness(g.v, z0, 100)
    S2, _ = straightness(g.v_reflow, z0, 100)
    print(f"  直线度 S(1-RF) = {S1:.4f}，S(2-RF) < 1e-20: {bool(S2 < 1e-20)}")
    gap = np.max(np.abs(euler(g.v_reflow, z0, 1) - g.ot_map(z0)))
    print(f"  Euler 一步（2-RF）与 OT 映射的最大差 < 1e-12: {bool(gap < 1e-12)}")
    print(f"  E||X1-X0||^2: 独立耦合 {g.cost_independent():.4f} -> 1-RF {g.cost_ot():.4f}"
          f"（蒙特卡洛 {np.mean(np.sum((path[-1] - z0) ** 2, 1)):.4f}）")

    print("== 2 噪声 -> 二维四分量高斯混合")
    mix = default_mixture_2d()
    z0 = rng.standard_normal((2000, 2))
    S, path = straightness(mix.v, z0, 100)
    ref = path[-1]
    # "+ 0.0" 把舍入产生的 -0.0 变成 0.0，打印结果不随求和顺序变
    print(f"  数据均值 {np.round(mix.mean(), 4) + 0.0}，RK4(100 步) 样本均值 {np.round(ref.mean(0), 4) + 0.0}")
    print(f"  数据协方差 {np.round(mix.cov().ravel(), 4)}，样本协方差 {np.round(np.cov(ref.T).ravel(), 4)}")
    print(f"  直线度 S(1-RF) = {S:.4f}；独立耦合的 E||X1-X0||^2 = "
          f"{np.trace(mix.cov()) + mix.mean() @ mix.mean() + 2:.4f}，1-RF 的 = {np.mean(np.sum((ref - z0) ** 2, 1)):.4f}")
    msv, se = mean_sq_velocity(mix, 20_000, rng)
    # 左边 E||Z1-Z0||^2 + S 的标准误：按逐轨迹恒等式，它是 ∫||v(Z_t,t)||^2 dt 在 2000 条轨迹上的样本均值
    ts = np.linspace(0.0, 1.0, path.shape[0])
    per_traj = np.trapezoid(np.stack([np.sum(mix.v(path[i], t) ** 2, 1) for i, t in enumerate(ts)]), ts, axis=0)
    lhs = np.mean(np.sum((ref - z0) ** 2, 1)) + S
    print(f"  ∫E||v(X_t,t)||^2 dt = {msv:.4f} ± {se:.4f}；E||Z1-Z0||^2 + S = {lhs:.4f} ± "
          f"{per_traj.std(ddof=1) / np.sqrt(len(per_traj)):.4f}")
    _, fine = rk4_path(mix.v, z0, 400)                  # 更精细的参照，避免参照误差污染 256 步的结果
    ref = fine[-1]
    print(f"  Euler 步数  端点误差均值   误差×N   协方差的迹（参照 {np.trace(np.cov(ref.T)):.3f}）")
    for n in (1, 2, 4, 8, 16, 32, 64, 256):
        out = euler(mix.v, z0, n)
        err = np.mean(np.linalg.norm(out - ref, axis=1))
        print(f"  {n:>8}  {err:12.5f}  {err * n:7.3f}   {np.trace(np.cov(out.T)):.3f}")

    print("== 3 一维：1-RF 是单调映射，reflow 把路径拉直")
    m1 = default_mixture_1d()
    grid = np.linspace(-7, 7, 1401)
    T = rectified_map_1d(m1, grid)
    zc = np.linspace(-3, 3, 13)
    qmap = m1.quantile_1d(0.5 * (1 + np.vectorize(__import__("math").erf)(zc / np.sqrt(2))))
    print(f"  T 单调递增: {bool(np.all(np.diff(T) > 0))}；T 与分位数映射 F1^(-1)(Phi(z)) 的最大差 "
          f"{np.max(np.abs(np.interp(zc, grid, T) - qmap)):.1e}")
    indep, rf, w2 = transport_costs_1d(m1, T, grid)
    print(f"  传输代价 E|Z1-Z0|^2: 独立耦合 {indep:.4f}，1-RF {rf:.4f}，W2^2 = {w2:.4f}")
    coupling = MonotoneCoupling1D(grid, T)
    z0 = rng.standard_normal((1000, 1))
    S1, _ = straightness(m1.v, z0, 100)
    S2, _ = straightness(coupling.v, z0, 100)
    vnw = nw_reflow_velocity(z0[:, 0], coupling(z0[:, 0]), bandwidth=0.05)
    zq = rng.standard_normal((300, 1))
    S3, _ = straightness(vnw, zq, n_steps=6)
    print(f"  直线度: 1-RF {S1:.4f}，理想 2-RF < 1e-20: {bool(S2 < 1e-20)}，核回归 2-RF {S3:.1e}")
    for name, v in (("1-RF", m1.v), ("理想 2-RF", coupling.v), ("核回归 2-RF", vnw)):
        one = euler(v, zq, 1)
        print(f"  Euler 一步（{name}）：与 T(z0) 的平均误差 {np.mean(np.abs(one - coupling(zq))):.4f}，"
              f"样本方差 {one.var():.4f}（目标 {float(m1.cov()[0, 0]):.4f}）")


if __name__ == "__main__":
    main()
