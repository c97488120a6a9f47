"""一维高斯混合上的 DDPM / DDIM 采样玩具实验（纯 NumPy）。

数据分布 p_0 = sum_k pi_k N(mu_k, rho_k^2)（rho_k 为分量标准差）。前向过程 q(x_t|x_0) = N(sqrt(abar_t) x_0, 1 - abar_t)
把它变成 p_t = sum_k pi_k N(sqrt(abar_t) mu_k, abar_t rho_k^2 + 1 - abar_t)，仍是高斯混合，
因此最优噪声预测 eps*(x_t, t) = -sqrt(1 - abar_t) * d/dx log p_t(x_t) 有闭式解。
用它代替训练好的网络 eps_theta，就能把"采样器本身的误差"和"网络拟合误差"分开来看。
"""
from math import erf, sqrt

import numpy as np


# ---------------------------------------------------------------- 噪声日程
def linear_schedule(T=1000, beta_start=1e-4, beta_end=0.02):
    """DDPM 的线性 beta 日程。返回长度 T+1 的数组，下标就是时间步 t：
    beta[0] = 0, abar[0] = 1（t = 0 即干净数据），abar[t] = prod_{s<=t} (1 - beta[s])。"""
    beta = np.concatenate([[0.0], np.linspace(beta_start, beta_end, T)])
    abar = np.cumprod(1.0 - beta)
    return beta, abar


def make_tau(S, T=1000, kind="linear"):
    """采样子序列 0 = tau_0 < tau_1 = 1 < ... < tau_S = T（共 S 次网络调用）。"""
    u = np.linspace(0.0, 1.0, S)
    if kind == "linear":
        tau = 1 + (T - 1) * u
    elif kind == "quadratic":
        tau = 1 + (T - 1) * u ** 2
    else:
        raise ValueError(kind)
    tau = np.round(tau).astype(int)
    for i in range(1, S):                    # 保证严格递增（二次间隔开头可能取整重复）
        tau[i] = max(tau[i], tau[i - 1] + 1)
    assert tau[-1] == T
    return np.concatenate([[0], tau])


# ---------------------------------------------------------------- 数据分布
class GaussianMixture1D:
    def __init__(self, weights, means, stds):
        self.w = np.asarray(weights, float)
        self.mu = np.asarray(means, float)
        self.rho = np.asarray(stds, float)                    # 分量标准差 rho_k
        assert np.isclose(self.w.sum(), 1.0)

    # ---- p_0 本身
    def sample(self, n, rng):
        k = rng.choice(len(self.w), size=n, p=self.w)
        return self.mu[k] + self.rho[k] * rng.standard_normal(n), k

    def mean(self):
        return float(self.w @ self.mu)

    def central_moment(self, order):
        """混合分布关于总体均值的 2 阶或 4 阶中心矩（精确值）。"""
        d, v = self.mu - self.mean(), self.rho ** 2
        if order == 2:
            return float(self.w @ (d ** 2 + v))
        if order == 4:
            return float(self.w @ (d ** 4 + 6 * d ** 2 * v + 3 * v ** 2))
        raise ValueError(order)

    def boundaries(self):
        """相邻分量之间的分界点：取两侧 z 分数相等的位置（分量按均值排序）。"""
        o = np.argsort(self.mu)
        mu, rho = self.mu[o], self.rho[o]
        return mu[:-1] + rho[:-1] * (mu[1:] - mu[:-1]) / (rho[:-1] + rho[1:])

    def cdf(self, x):
        z = (np.asarray(x, float)[..., None] - self.mu) / (sqrt(2.0) * self.rho)
        return 0.5 * (1.0 + np.vectorize(erf)(z)) @ self.w

    def region_probs(self):
        """真实分布落在各分界区间内的精确概率。"""
        return np.diff(np.concatenate([[0.0], self.cdf(self.boundaries()), [1.0]]))

    # ---- 加噪后的边缘 p_t（只依赖 abar_t）
    def _terms(self, x, abar):
        """返回 d_k = x - m_k、1/v_k 与 log pi_k + log N(x; m_k, v_k)，形状 (K, n)。"""
        m = np.sqrt(abar) * self.mu
        v = abar * self.rho ** 2 + (1.0 - abar)
        d = np.asarray(x, float).reshape(1, -1) - m[:, None]
        inv_v = (1.0 / v)[:, None]
        log_joint = (np.log(self.w) - 0.5 * np.log(2 * np.pi * v))[:, None] - 0.5 * d * d * inv_v
        return d, inv_v, log_joint

    def log_prob(self, x, abar):
        _, _, lj = self._terms(x, abar)
        mx = lj.max(axis=0)                                   # log-sum-exp
        return (mx + np.log(np.exp(lj - mx).sum(axis=0))).reshape(np.shape(x))

    def responsibilities(self, x, abar):
        """后验 r_k(x) = P(分量 k | x_t = x)，形状 (K, n)；先减最大值再取 exp。"""
        _, _, lj = self._terms(x, abar)
        r = np.exp(lj - lj.max(axis=0))
        return r / r.sum(axis=0)

    def score(self, x, abar):
        """d/dx log p_t(x) = -sum_k r_k(x) (x - m_k) / v_k（原地运算，省内存也省时间）。"""
        d, inv_v, r = self._terms(x, abar)
        r -= r.max(axis=0)
        np.exp(r, out=r)                                      # 未归一化的 r_k
        den = r.sum(axis=0)
        r *= d
        r *= inv_v
        return (-r.sum(axis=0) / den).reshape(np.shape(x))

    def eps_star(self, x, abar):
        """最优噪声预测 E[eps | x_t] = -sqrt(1 - abar) * score。"""
        return -np.sqrt(1.0 - abar) * self.score(x, abar)


# ---------------------------------------------------------------- 采样器
def ddpm_sample(gm, x_T, rng, T=1000, variance="small"):
    """DDPM 祖先采样，逐步走完 t = T, ..., 1。
    variance="small": sigma_t^2 = 后验方差 beta~_t；"large": sigma_t^2 = beta_t。"""
    beta, abar = linear_schedule(T)
    x = np.array(x_T, float)
    for t in range(T, 0, -1):
        eps = gm.eps_star(x, abar[t])
        mean = (x - beta[t] / np.sqrt(1 - abar[t]) * eps) / np.sqrt(1 - beta[t])
        var = beta[t] * (1 - abar[t - 1]) / (1 - abar[t]) if variance == "small" else beta[t]
        z = rng.standard_normal(x.shape)                 # 每步都抽噪声，便于与 DDIM 对齐随机流
        x = mean + (np.sqrt(var) * z if t > 1 else 0.0)
    return x


def ddim_sigma(abar_t, abar_s, eta):
    """sigma_t(eta) = eta * sqrt((1-abar_s)/(1-abar_t)) * sqrt(1 - abar_t/abar_s)，s 为下一步的时间。"""
    return eta * np.sqrt((1 - abar_s) / (1 - abar_t)) * np.sqrt(1 - abar_t / abar_s)


def ddim_step(gm, x, abar_t, abar_s, eta, z):
    """从时间 t 走到 s < t 的一步 DDIM 更新。"""
    eps = gm.eps_star(x, abar_t)
    x0_hat = (x - np.sqrt(1 - abar_t) * eps) / np.sqrt(abar_t)        # 预测的 x_0
    sig = ddim_sigma(abar_t, abar_s, eta)
    direction = np.sqrt(np.maximum(1 - abar_s - sig ** 2, 0.0)) * eps  # 指向 x_t 的方向
    return np.sqrt(abar_s) * x0_hat + direction + sig * z


def ddim_sample(gm, x_T, tau, eta, rng, T=1000):
    """在子序列 tau（tau[0] = 0, tau[-1] = T）上做 DDIM 采样。"""
    _, abar = linear_schedule(T)
    x = np.array(x_T, float)
    for i in range(len(tau) - 1, 0, -1):
        t, s = tau[i], tau[i - 1]
        z = rng.standard_normal(x.shape)
        x = ddim_step(gm, x, abar[t], abar[s], eta, z)
    return x


def ddim_invert(gm, x0, tau, T=1000):
    """确定性 DDIM 反演（编码）：沿 ODE 正向做显式 Euler，x_0 -> x_T。
    在 xbar = x / sqrt(abar)、sbar = sqrt((1-abar)/abar) 坐标下：xbar_t = xbar_s + (sbar_t - sbar_s) eps(x_s, s)。"""
    _, abar = linear_schedule(T)
    x = np.array(x0, float)
    for i in range(1, len(tau)):
        s, t = tau[i - 1], tau[i]
        eps = gm.eps_star(x, abar[s])                 # 用当前点、当前时间的 eps（t=0 时精确为 0）
        sb_s, sb_t = np.sqrt((1 - abar[s]) / abar[s]), np.sqrt((1 - abar[t]) / abar[t])
        x = np.sqrt(abar[t]) * (x / np.sqrt(abar[s]) + (sb_t - sb_s) * eps)
    return x


def forward_nonmarkov(x0, tau, eta, rng, T=1000):
    """按 DDIM 的非马尔可夫"前向"族 q_sigma 采样：先抽 x_T ~ q(x_T|x_0)，
    再依次抽 x_{tau_{i-1}} ~ q_sigma(. | x_{tau_i}, x_0)。返回 {t: x_t}，用于检验边缘分布。"""
    _, abar = linear_schedule(T)
    x0 = np.asarray(x0, float)
    x = np.sqrt(abar[T]) * x0 + np.sqrt(1 - abar[T]) * rng.standard_normal(x0.shape)
    out = {T: x}
    for i in range(len(tau) - 1, 1, -1):
        t, s = tau[i], tau[i - 1]
        sig = ddim_sigma(abar[t], abar[s], eta)
        eps_dir = (x - np.sqrt(abar[t]) * x0) / np.sqrt(1 - abar[t])
        x = (np.sqrt(abar[s]) * x0 + np.sqrt(1 - abar[s] - sig ** 2) * eps_dir
             + sig * rng.standard_normal(x0.shape))
        out[s] = x
    return out


# ---------------------------------------------------------------- 评估
def default_mixture():
    return GaussianMixture1D(weights=[0.5, 0.3, 0.2], means=[-2.0, 0.5, 3.0], stds=[0.4, 0.3, 0.6])


def summarize(gm, x):
    """样本均值、方差、落在各分量区间的比例，以及到真实分布的 W1 距离。"""
    edges = gm.boundaries()
    props = np.bincount(np.searchsorted(edges, x), minlength=len(edges) + 1) / len(x)
    grid = np.linspace(-8, 8, 8001)
    Fn = np.searchsorted(np.sort(x), grid, side="right") / len(x)
    w1 = float(np.sum(np.abs(Fn - gm.cdf(grid))) * (grid[1] - grid[0]))
    return {"mean": float(x.mean()), "var": float(x.var()), "props": props, "w1": w1}


def main(n=10_000, seed=0):
    gm = default_mixture()
    x_T = np.random.default_rng(seed).standard_normal(n)
    rows = [("真实分布直接抽样", 0, gm.sample(n, np.random.default_rng(seed + 1))[0]),
            ("DDPM 祖先采样", 1000, ddpm_sample(gm, x_T, np.random.default_rng(seed + 2)))]
    for S in (100, 50, 20, 10):
        for eta in (0.0, 1.0):
            x = ddim_sample(gm, x_T, make_tau(S), eta, np.random.default_rng(seed + 3))
            rows.append((f"DDIM η={eta:.0f}", S, x))
    for S in (20, 10):
        x = ddim_sample(gm, x_T, make_tau(S, kind="quadratic"), 0.0, np.random.default_rng(seed + 3))
        rows.append(("DDIM η=0 二次τ", S, x))
    print(f"真实分布: mean={gm.mean():.4f}  var={gm.central_moment(2):.4f}  "
          f"区间概率={np.round(gm.region_probs(), 4)}")
    print(f"{'采样器':<16}{'NFE':>5}{'mean':>9}{'var':>8}  {'区间比例':<24}{'W1':>8}")
    for name, nfe, x in rows:
        r = summarize(gm, x)
        print(f"{name:<16}{nfe:>5}{r['mean']:>9.4f}{r['var']:>8.4f}  "
              f"{str(np.round(r['props'], 4)):<24}{r['w1']:>8.4f}")
    base = make_tau(20)                                   # 把 20 步线性子序列的某一段加密
    for lo, hi in ((0, 150), (300, 450)):
        tau = np.union1d(base, np.round(np.linspace(lo, hi, 12)).astype(int))
        x = ddim_sample(gm, x_T, tau, 0.0, np.random.default_rng(seed + 3))
        print(f"20 步线性 τ，在 t∈[{lo},{hi}] 加密后 NFE={len(tau) - 1}: W1={summarize(gm, x)['w1']:.4f}")
    x0, _ = gm.sample(1000, np.random.default_rng(seed + 4))
    for S in (20, 100, 1000):
        tau = make_tau(S)
        z = ddim_invert(gm, x0, tau)
        err = np.abs(ddim_sample(gm, z, tau, 0.0, np.random.default_rng(0)) - x0)
        print(f"反演→重建 S={S:<5} 潜变量 mean={z.mean():+.3f} var={z.var():.3f}  "
              f"|误差| 中位数={np.median(err):.1e} 均值={err.mean():.1e} "
              f"最大={err.max():.1e}（x0={x0[np.argmax(err)]:+.2f}）")


if __name__ == "__main__":
    main()
