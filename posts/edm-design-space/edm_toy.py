"""EDM 设计空间的一维玩具实现（纯 NumPy）。

统一形式：x_t = s(t) * (x_0 + sigma(t) * eps)。记 xbar = x / s，则 xbar 的边缘是 p(xbar; sigma)，
即数据与 N(0, sigma^2) 的卷积。数据取一维高斯混合（标准化为均值 0、标准差 sigma_data = 0.5），
理想去噪器 D(xbar; sigma) = E[x_0 | x_0 + sigma * n = xbar] 有闭式解，用它代替网络。
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)


def norm_cdf(z):
    return 0.5 * (1.0 + _erf(np.asarray(z, float) / math.sqrt(2.0)).astype(float))


# ---------------------------------------------------------------- 四族日程：s(t), sigma(t) 及其导数
@dataclass
class Schedule:
    name: str
    s: Callable
    sigma: Callable
    ds: Callable
    dsigma: Callable
    sigma_inv: Callable          # 由 sigma 反求 t，用于在各族之间对齐同一组噪声水平


def vp_schedule(beta_min=0.1, beta_d=19.9):
    """连续 VP（DDPM 的极限）：abar(t) = exp(-B(t))，B(t) = beta_d t^2 / 2 + beta_min t。
    s = sqrt(abar) = exp(-B/2)，sigma = sqrt((1 - abar)/abar) = sqrt(e^B - 1)。"""
    B = lambda t: 0.5 * beta_d * t ** 2 + beta_min * t
    dB = lambda t: beta_d * t + beta_min
    s = lambda t: np.exp(-0.5 * B(t))
    sigma = lambda t: np.sqrt(np.expm1(B(t)))
    ds = lambda t: -0.5 * dB(t) * s(t)
    dsigma = lambda t: 0.5 * dB(t) * np.exp(B(t)) / sigma(t)
    # 反解 B(t) = log(1 + sigma^2) 这个二次方程
    inv = lambda sg: (-beta_min + np.sqrt(beta_min ** 2 + 2 * beta_d * np.log1p(sg ** 2))) / beta_d
    return Schedule("VP", s, sigma, ds, dsigma, inv)


def ve_schedule():
    """VE（SMLD 的极限），EDM 表 1 的写法：s = 1，sigma(t) = sqrt(t)。"""
    one = lambda t: np.ones_like(np.asarray(t, float))
    zero = lambda t: np.zeros_like(np.asarray(t, float))
    return Schedule("VE", one, np.sqrt, zero, lambda t: 0.5 / np.sqrt(t), lambda sg: sg ** 2)


def edm_schedule():
    """EDM：s = 1，sigma(t) = t。"""
    one = lambda t: np.ones_like(np.asarray(t, float))
    zero = lambda t: np.zeros_like(np.asarray(t, float))
    return Schedule("EDM", one, lambda t: np.asarray(t, float), zero, one, lambda sg: sg)


def flow_schedule():
    """Flow matching / rectified flow：x_t = (1 - t) x_0 + t eps，即 s = 1 - t，sigma = t / (1 - t)。"""
    return Schedule("Flow", lambda t: 1.0 - t, lambda t: t / (1.0 - t),
                    lambda t: -np.ones_like(np.asarray(t, float)), lambda t: 1.0 / (1.0 - t) ** 2,
                    lambda sg: sg / (1.0 + sg))


def vp_discrete(abar):
    """离散 DDPM 日程的 (s_i, sigma_i)：s = sqrt(abar)，sigma = sqrt((1 - abar) / abar)。"""
    abar = np.asarray(abar, float)
    return np.sqrt(abar), np.sqrt((1.0 - abar) / abar)


# ---------------------------------------------------------------- 数据：标准化的一维高斯混合
class Mixture1D:
    def __init__(self, w, mu, sd):
        self.w, self.mu, self.sd = (np.asarray(a, float) for a in (w, mu, sd))

    @classmethod
    def standardized(cls, sigma_data=0.5):
        """三分量混合，仿射变换到均值 0、标准差 sigma_data。"""
        w, mu, sd = np.array([0.3, 0.45, 0.25]), np.array([-1.0, 0.1, 1.1]), np.array([0.15, 0.3, 0.1])
        m = w @ mu
        v = w @ (sd ** 2 + (mu - m) ** 2)
        k = sigma_data / np.sqrt(v)
        return cls(w, k * (mu - m), k * sd)

    def sample(self, n, rng):
        k = rng.choice(len(self.w), size=n, p=self.w)
        return self.mu[k] + self.sd[k] * rng.standard_normal(n)

    def std(self):
        m = self.w @ self.mu
        return float(np.sqrt(self.w @ (self.sd ** 2 + (self.mu - m) ** 2)))

    def _post(self, x, sigma):
        """各分量在 p(x; sigma) 下的后验权重 r_k 与方差 v_k = sd_k^2 + sigma^2，形状 (K, n)。"""
        v = (self.sd ** 2)[:, None] + np.asarray(sigma, float) ** 2
        d = np.asarray(x, float).reshape(1, -1) - self.mu[:, None]
        lj = np.log(self.w)[:, None] - 0.5 * np.log(2 * np.pi * v) - 0.5 * d * d / v
        r = np.exp(lj - lj.max(axis=0))
        return r / r.sum(axis=0), v, lj

    def denoise(self, x, sigma):
        """理想去噪器 D(x; sigma) = E[x_0 | x_0 + sigma n = x]。"""
        sigma = np.asarray(sigma, float)
        r, v, _ = self._post(x, sigma)
        post_mean = (self.mu[:, None] * sigma ** 2 + np.asarray(x, float).reshape(1, -1) * (self.sd ** 2)[:, None]) / v
        return (r * post_mean).sum(axis=0).reshape(np.shape(x))

    def score(self, x, sigma):
        """grad log p(x; sigma) = (D(x; sigma) - x) / sigma^2（Tweedie）。"""
        return (self.denoise(x, sigma) - x) / np.asarray(sigma, float) ** 2

    def log_p(self, x, sigma):
        _, _, lj = self._post(x, sigma)
        mx = lj.max(axis=0)
        return (mx + np.log(np.exp(lj - mx).sum(axis=0))).reshape(np.shape(x))

    def cdf(self, x, sigma):
        z = (np.asarray(x, float).reshape(1, -1) - self.mu[:, None]) / np.sqrt(self.sd ** 2 + sigma ** 2)[:, None]
        return (self.w @ norm_cdf(z)).reshape(np.shape(x))

    def quantile(self, u, sigma, iters=60):
        """F^{-1}(u)：二分法求 p(.; sigma) 的分位数（CDF 单调，二分总能收敛）。"""
        lo = np.full(np.shape(u), -30.0 - 5 * sigma)
        hi = np.full(np.shape(u), 30.0 + 5 * sigma)
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid, sigma) < u
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def exact_flow(self, xbar, sigma_from, sigma_to):
        """一维概率流 ODE 的精确解：单调且把 p(.; sigma_from) 推到 p(.; sigma_to)，只能是分位数映射。"""
        return self.quantile(self.cdf(xbar, sigma_from), sigma_to)


# ---------------------------------------------------------------- 统一的概率流 ODE
def ode_velocity(sched, data, x, t):
    """dx/dt = (sigma'/sigma + s'/s) x - (s sigma'/sigma) D(x/s; sigma)（EDM 式 (4) 的去噪器形式）。"""
    s, sg, ds, dsg = sched.s(t), sched.sigma(t), sched.ds(t), sched.dsigma(t)
    return (dsg / sg + ds / s) * x - s * dsg / sg * data.denoise(x / s, sg)


def solve_ode(sched, data, x, t_steps, method="heun"):
    """在调度自己的时间变量上用 Euler 或 Heun 积分；t_steps 递减。
    最后一步若 sigma = 0，则只做 Euler（Heun 的校正需要在 sigma = 0 处求速度）。"""
    x = np.array(x, float)
    for t_cur, t_next in zip(t_steps[:-1], t_steps[1:]):
        d = ode_velocity(sched, data, x, t_cur)
        x_next = x + (t_next - t_cur) * d
        if method == "heun" and sched.sigma(t_next) > 0:
            d2 = ode_velocity(sched, data, x_next, t_next)
            x_next = x + (t_next - t_cur) * 0.5 * (d + d2)
        x = x_next
    return x


# ---------------------------------------------------------------- EDM 的时间离散与采样器
def edm_sigmas(N, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    """sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho，再补 sigma_N = 0。"""
    i = np.arange(N)
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return np.concatenate([(a + i / (N - 1) * (b - a)) ** rho, [0.0]])


def edm_sample(data, x, sigmas, method="heun", s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"),
               s_noise=1.0, rng=None):
    """EDM 算法 1（s_churn = 0，确定性）与算法 2（随机搅动）。x 是 sigma_0 处的样本。"""
    N = len(sigmas) - 1
    x = np.array(x, float)
    for i in range(N):
        sg, sg_next = sigmas[i], sigmas[i + 1]
        gamma = min(s_churn / N, math.sqrt(2) - 1) if s_tmin <= sg <= s_tmax else 0.0
        sg_hat = sg * (1 + gamma)
        if gamma > 0:                          # 把噪声水平从 sg 抬到 sg_hat：补上方差 sg_hat^2 - sg^2
            x = x + math.sqrt(sg_hat ** 2 - sg ** 2) * s_noise * rng.standard_normal(x.shape)
        d = (x - data.denoise(x, sg_hat)) / sg_hat
        x_next = x + (sg_next - sg_hat) * d
        if method == "heun" and sg_next > 0:
            d2 = (x_next - data.denoise(x_next, sg_next)) / sg_next
            x_next = x + (sg_next - sg_hat) * 0.5 * (d + d2)
        x = x_next
    return x


# ---------------------------------------------------------------- 预条件化与训练分布
def precond(sigma, sigma_data=0.5):
    """返回 (c_skip, c_out, c_in, c_noise)，D = c_skip x + c_out F(c_in x; c_noise)。"""
    sigma = np.asarray(sigma, float)
    denom = sigma ** 2 + sigma_data ** 2
    return (sigma_data ** 2 / denom, sigma * sigma_data / np.sqrt(denom), 1 / np.sqrt(denom), 0.25 * np.log(sigma))


def loss_weight(sigma, sigma_data=0.5):
    """lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2，使 lambda c_out^2 = 1。"""
    return (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2


def effective_target(y, n, sigma, sigma_data=0.5):
    """F 网络的回归目标 (y - c_skip (y + n)) / c_out，n ~ N(0, sigma^2)。"""
    c_skip, c_out, _, _ = precond(sigma, sigma_data)
    return (y - c_skip * (y + n)) / c_out


def sample_training_sigma(n, rng, p_mean=-1.2, p_std=1.2):
    """ln sigma ~ N(P_mean, P_std^2)。"""
    return np.exp(p_mean + p_std * rng.standard_normal(n))


# ---------------------------------------------------------------- 演示
def main(n=4000, seed=0):
    data = Mixture1D.standardized()
    rng = np.random.default_rng(seed)
    print(f"数据：均值 0，标准差 {data.std():.4f}")

    # 1) 预条件化：输入与目标的二阶矩
    y = data.sample(200_000, rng)
    e = rng.standard_normal(y.shape)
    print("sigma     c_skip   c_out    c_in     E[(c_in x)^2]  E[target^2]  理想去噪器的有效损失")
    for sg in (0.002, 0.05, 0.2, 0.5, 2.0, 10.0, 80.0):
        c_skip, c_out, c_in, _ = precond(sg)
        x = y + sg * e
        tgt = effective_target(y, sg * e, sg)
        f_star = (data.denoise(x, sg) - c_skip * x) / c_out
        print(f"{sg:<8g}  {c_skip:.4f}   {c_out:.4f}   {c_in:.4f}   {np.mean((c_in * x) ** 2):.4f}"
              f"         {np.mean(tgt ** 2):.4f}       {np.mean((f_star - tgt) ** 2):.4f}")
    fine = np.geomspace(0.01, 1.0, 41)                # 同一批样本，在更细的网格上找不可约损失的最低点
    floor = [np.mean(((data.denoise(y + sg * e, sg) - precond(sg)[0] * (y + sg * e)) / precond(sg)[1]
                      - effective_target(y, sg * e, sg)) ** 2) for sg in fine]
    k = int(np.argmin(floor))
    print(f"更细的网格（sigma 在 [0.01, 1] 上取 41 个对数均匀点）：有效损失在 sigma = {fine[k]:.3f} 处最低，为 {floor[k]:.4f}")

    # 2) 采样器：与精确流映射比较（起点从 p(.; 80) 精确抽样）
    sigmas_ref = edm_sigmas(2)
    x_start = data.sample(n, rng) + sigmas_ref[0] * rng.standard_normal(n)
    exact = data.exact_flow(x_start, 80.0, 0.0)
    print("\nN    NFE(Euler)  Euler RMS 误差   NFE(Heun)  Heun RMS 误差   (rho = 7)")
    for N in (8, 16, 32, 64, 128):
        sg = edm_sigmas(N)
        err_e = np.sqrt(np.mean((edm_sample(data, x_start, sg, "euler") - exact) ** 2))
        err_h = np.sqrt(np.mean((edm_sample(data, x_start, sg, "heun") - exact) ** 2))
        print(f"{N:<4} {N:>6}      {err_e:.3e}      {2 * N - 1:>6}     {err_h:.3e}")
    print("\nHeun，N = 16：rho 的影响")
    for rho in (1.0, 2.0, 3.0, 5.0, 7.0, 10.0):
        err = np.sqrt(np.mean((edm_sample(data, x_start, edm_sigmas(16, rho=rho)) - exact) ** 2))
        print(f"  rho = {rho:<4g} RMS 误差 {err:.3e}")

    # 3) 同一组 sigma 网格，在不同参数化的时间变量上积分
    print("\n同一组 sigma_i（N = 16，rho = 7），在各族自己的时间变量上积分，比较 x/s 的终点误差")
    sg = edm_sigmas(16)[:-1]                          # 停在 sigma_min，避免 VP/Flow 在 sigma = 0 的端点
    ref = data.exact_flow(x_start, 80.0, sg[-1])
    for sched in (edm_schedule(), flow_schedule(), vp_schedule()):
        t = sched.sigma_inv(sg)
        x0 = sched.s(t[0]) * x_start
        for method in ("euler", "heun"):
            out = solve_ode(sched, data, x0, t, method) / sched.s(t[-1])
            print(f"  {sched.name:<5} {method:<6} RMS 误差 {np.sqrt(np.mean((out - ref) ** 2)):.3e}")

    # 4) 随机搅动
    sg = edm_sigmas(32)
    for churn in (0.0, 10.0, 40.0):
        out = edm_sample(data, x_start, sg, s_churn=churn, s_tmin=0.01, s_tmax=50, rng=np.random.default_rng(1))
        grid = np.linspace(-2, 2, 4001)
        ks = np.max(np.abs(np.searchsorted(np.sort(out), grid, side="right") / n - data.cdf(grid, 0.0)))
        print(f"S_churn = {churn:<4g} 样本标准差 {out.std():.4f}，KS 距离 {ks:.4f}")


if __name__ == "__main__":
    main()
