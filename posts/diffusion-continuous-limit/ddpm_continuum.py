"""离散 DDPM 链与 VP SDE：前向链的连续极限、反向一步的贝叶斯/泰勒近似，纯 NumPy。

数据是一维高斯混合，任意 abar 下的边缘 p(x; abar) 仍是高斯混合，得分、得分的导数、
以及"真正的"反向条件分布 q(x_{i-1} | x_i)（一个高斯混合）都有闭式解。
"""

import math

import numpy as np

BETA_MIN, BETA_MAX = 0.1, 20.0          # VP SDE: beta(t) 在 [0, 1] 上线性增长


# ----------------------------------------------------------------------------- 时间表
def beta_fn(t):
    return BETA_MIN + (BETA_MAX - BETA_MIN) * t


def int_beta(t):
    """B(t) = int_0^t beta(s) ds。"""
    return BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t ** 2


def abar_sde(t):
    """VP SDE 的信号系数平方 m_t^2 = exp(-B(t))。"""
    return np.exp(-int_beta(np.asarray(t, float)))


def chain_betas(N, kind="euler"):
    """N 步离散链的 beta_1..beta_N（t_i = i/N）。
    euler: beta_i = beta(t_i) / N（DDPM 的写法）；exact: 1 - exp(-(B(t_i) - B(t_{i-1})))。"""
    t = np.arange(N + 1) / N
    if kind == "euler":
        b = beta_fn(t[1:]) / N
    elif kind == "exact":
        b = -np.expm1(-np.diff(int_beta(t)))
    else:
        raise ValueError(kind)
    assert np.all((b > 0) & (b < 1)), "步数太少：beta_i 超出 (0, 1)"
    return b


def chain_abar(betas):
    """abar_0 = 1, abar_i = prod_{j<=i} (1 - beta_j)。"""
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def simulate_chain(x0, betas, rng):
    """按 x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) z 逐步模拟前向链，返回终点。"""
    x = np.array(x0, float)
    for b in betas:
        x = np.sqrt(1.0 - b) * x + np.sqrt(b) * rng.standard_normal(x.shape)
    return x


# ----------------------------------------------------------------------------- 数据分布
class Mixture1D:
    def __init__(self, weights, means, stds):
        self.w, self.mu, self.rho = (np.asarray(a, float) for a in (weights, means, stds))  # rho: 分量标准差

    def sample(self, n, rng):
        k = rng.choice(len(self.w), size=n, p=self.w)
        return self.mu[k] + self.rho[k] * rng.standard_normal(n)

    def components(self, abar):
        """p(x; abar) 的各分量：均值 sqrt(abar) mu_k，方差 abar rho_k^2 + 1 - abar。"""
        return np.sqrt(abar) * self.mu, abar * self.rho ** 2 + (1.0 - abar)

    def _resp(self, x, abar):
        m, v = self.components(abar)
        x = np.asarray(x, float)[..., None]
        lj = np.log(self.w) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x - m) ** 2 / v
        mx = lj.max(axis=-1, keepdims=True)
        r = np.exp(lj - mx)
        tot = r.sum(axis=-1, keepdims=True)
        return r / tot, (mx + np.log(tot))[..., 0], x, m, v

    def log_prob(self, x, abar):
        return self._resp(x, abar)[1]

    def cdf(self, x, abar):
        m, v = self.components(abar)
        z = (np.asarray(x, float)[..., None] - m) / np.sqrt(2 * v)
        return (self.w * 0.5 * (1 + np.vectorize(math.erf)(z))).sum(axis=-1)

    def score(self, x, abar):
        r, _, x, m, v = self._resp(x, abar)
        return -(r * (x - m) / v).sum(axis=-1)

    def score_dx(self, x, abar):
        """得分对 x 的导数 = d^2/dx^2 log p = sum_k r_k (g_k^2 - 1/v_k) - (sum_k r_k g_k)^2。"""
        r, _, x, m, v = self._resp(x, abar)
        g = -(x - m) / v
        s = (r * g).sum(axis=-1)
        return (r * (g ** 2 - 1.0 / v)).sum(axis=-1) - s ** 2

    def moments(self, abar=1.0):
        m, v = self.components(abar)
        mean = self.w @ m
        return mean, self.w @ (v + m ** 2) - mean ** 2


def default_mixture():
    return Mixture1D(weights=[0.35, 0.65], means=[-1.5, 1.5], stds=[0.3, 0.5])


# ----------------------------------------------------------------------------- 反向一步
def exact_reverse(gm, x, abar_prev, beta):
    """真正的反向条件 q(x_{i-1} | x_i = x) 的均值、方差，以及它（作为高斯混合）的各项参数。
    先验 p(x'; abar_prev) 是高斯混合，似然 N(x; sqrt(1-beta) x', beta) 是高斯，后验逐分量共轭。"""
    a = np.sqrt(1.0 - beta)
    m, v = gm.components(abar_prev)
    x = np.asarray(x, float)[..., None]
    pv = 1.0 / (1.0 / v + a * a / beta) + 0.0 * x             # 各分量后验方差（与 x 同形状）
    pm = pv * (m / v + a * x / beta)                          # 各分量后验均值
    ev = a * a * v + beta                                     # x 在分量 k 下的边缘方差
    lw = np.log(gm.w) - 0.5 * np.log(2 * np.pi * ev) - 0.5 * (x - a * m) ** 2 / ev
    w = np.exp(lw - lw.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    mean = (w * pm).sum(axis=-1)
    var = (w * (pv + pm ** 2)).sum(axis=-1) - mean ** 2
    return mean, var, (w, pm, pv)


def tweedie_reverse(gm, x, abar_prev, beta):
    """用 x_i 时刻的得分精确表示反向条件的均值与方差（正文的 Tweedie 形式）：
    E = (x + beta s_i(x)) / sqrt(alpha)，Var = beta / alpha * (1 + beta s_i'(x))。"""
    alpha = 1.0 - beta
    abar = abar_prev * alpha
    mean = (x + beta * gm.score(x, abar)) / np.sqrt(alpha)
    var = beta / alpha * (1.0 + beta * gm.score_dx(x, abar))
    return mean, var


def taylor_reverse(gm, x, abar_prev, beta, order="bayes"):
    """贝叶斯公式 + log p_{i-1} 在 x_i 处一阶泰勒展开得到的高斯近似。
    bayes: 均值 x/sqrt(alpha) + beta/alpha * s_{i-1}(x)，方差 beta/alpha；
    sde:   再只保留 beta 的一阶项，均值 x + beta (x/2 + s_{i-1}(x))，方差 beta（反向 SDE 的 EM 步）。"""
    alpha = 1.0 - beta
    s = gm.score(x, abar_prev)
    if order == "bayes":
        return x / np.sqrt(alpha) + beta / alpha * s, np.full_like(np.asarray(x, float), beta / alpha)
    return x + beta * (0.5 * x + s), np.full_like(np.asarray(x, float), beta)


def ddpm_posterior(x_t, x0, abar_prev, beta):
    """DDPM 的条件后验 q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde)。"""
    alpha = 1.0 - beta
    abar = abar_prev * alpha
    mu = (np.sqrt(abar_prev) * beta * x0 + np.sqrt(alpha) * (1 - abar_prev) * x_t) / (1 - abar)
    return mu, beta * (1 - abar_prev) / (1 - abar)


def linear_ddpm_schedule(T=1000, beta_start=1e-4, beta_end=0.02):
    """DDPM 原文的离散日程；下标 0 处补 beta_0 = 0，使 abar[0] = 1。"""
    betas = np.linspace(beta_start, beta_end, T)
    return np.concatenate([[0.0], betas]), chain_abar(betas)


def taylor_vs_posterior_precision_error(t, T=1000):
    """单个 x_0（点质量数据）时，一阶泰勒近似的反向方差 beta/alpha 与精确后验方差 beta~ 的
    相对精度误差 (beta/alpha) / beta~ - 1，应等于 beta_t / (alpha_t (1 - abar_{t-1}))。"""
    betas, abar = linear_ddpm_schedule(T)
    b, al = betas[t], 1.0 - betas[t]
    _, var = ddpm_posterior(0.0, 0.0, abar[t - 1], b)
    return (b / al) / var - 1.0, b / (al * (1.0 - abar[t - 1]))


def reverse_density(gm, x, abar_prev, beta, y):
    """真实反向条件 q(x_{i-1} | x_i = x)（一个高斯混合）在网格 y 上的密度。"""
    _, _, (w, pm, pv) = exact_reverse(gm, np.array([x]), abar_prev, beta)
    w, pm, pv = w[0], pm[0], pv[0]
    return (w * np.exp(-0.5 * (y[:, None] - pm) ** 2 / pv) / np.sqrt(2 * np.pi * pv)).sum(axis=1)


def reverse_modes(gm, x, abar_prev, beta, n_grid=200001):
    """真实反向条件的各个峰（密度的局部极大点），在均值 ±8 个标准差的细网格上找。"""
    mean, var, _ = exact_reverse(gm, np.array([x]), abar_prev, beta)
    y = np.linspace(mean[0] - 8 * np.sqrt(var[0]), mean[0] + 8 * np.sqrt(var[0]), n_grid)
    q = reverse_density(gm, x, abar_prev, beta, y)
    peak = (q[1:-1] > q[:-2]) & (q[1:-1] >= q[2:])
    return y[1:-1][peak]


def kl_to_moment_matched_gaussian(gm, x, abar_prev, beta, n_grid=20001):
    """真实反向条件（高斯混合）与同均值同方差的高斯之间的 KL，网格求积。"""
    mean, var, (w, pm, pv) = exact_reverse(gm, np.array([x]), abar_prev, beta)
    mean, var, w, pm, pv = mean[0], var[0], w[0], pm[0], pv[0]
    sd = np.sqrt(var)
    y = np.linspace(mean - 12 * sd, mean + 12 * sd, n_grid)
    comp = w * np.exp(-0.5 * (y[:, None] - pm) ** 2 / pv) / np.sqrt(2 * np.pi * pv)
    q = comp.sum(axis=1)
    g = np.exp(-0.5 * (y - mean) ** 2 / var) / np.sqrt(2 * np.pi * var)
    ok = q > 1e-300
    return float(np.sum(q[ok] * np.log(q[ok] / g[ok])) * (y[1] - y[0]))


# ----------------------------------------------------------------------------- 整条反向链
def gaussian_reverse_chain_moments(mu0, rho0, betas, variance="beta"):
    """数据为 N(mu0, rho0^2) 时，得分关于 x 线性，反向链 x_{i-1} = (x_i + beta_i s_i(x_i))/sqrt(alpha_i)
    + sqrt(var_i) z 的均值、方差可以精确递推。从精确的 p_N 出发，返回 x_0 的均值与方差。
    variance: "beta"（DDPM 的 sigma^2 = beta）、"tilde"（beta~）或 "exact"（真实反向条件方差）。"""
    abar = chain_abar(betas)
    m_all = np.sqrt(abar) * mu0
    V_all = abar * rho0 ** 2 + 1 - abar
    M, S = m_all[-1], V_all[-1]
    for i in range(len(betas), 0, -1):
        b, al = betas[i - 1], 1.0 - betas[i - 1]
        c = (1.0 - b / V_all[i]) / np.sqrt(al)               # 得分 -(x - m_i)/V_i 代入后 x 的系数
        d = b * m_all[i] / (V_all[i] * np.sqrt(al))
        if variance == "beta":
            var = b
        elif variance == "tilde":
            var = b * (1 - abar[i - 1]) / (1 - abar[i])
        else:
            var = b / al * (1.0 - b / V_all[i])
        M, S = c * M + d, c * c * S + var
    return M, S


def ancestral_sample(gm, x_N, betas, rng, kernel="exact_moments"):
    """混合数据上的反向链：每步用一个高斯 N(均值, 方差) 代替真实反向条件。
    kernel="exact_moments" 用真实条件的精确均值、方差（最好的单高斯）；"sde" 用一阶泰勒的结果。"""
    abar = chain_abar(betas)
    x = np.array(x_N, float)
    for i in range(len(betas), 0, -1):
        if kernel == "exact_moments":
            mean, var = tweedie_reverse(gm, x, abar[i - 1], betas[i - 1])
        else:
            mean, var = taylor_reverse(gm, x, abar[i - 1], betas[i - 1], order="sde")
        x = mean + np.sqrt(np.maximum(var, 0.0)) * rng.standard_normal(x.shape)
    return x


def ks_distance(x, gm, abar=1.0):
    xs = np.sort(x)
    F = gm.cdf(xs, abar)
    n = len(xs)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n)))


# ----------------------------------------------------------------------------- 演示
def main():
    gm = default_mixture()
    print("1) 前向链的连续极限：t = 0.5 处离散 abar 与 exp(-B) 的差，以及两个边缘分布的 KS 距离")
    grid = np.linspace(-6, 6, 4001)
    a_c = float(abar_sde(0.5))
    for N in (25, 50, 100, 200, 1000):
        a_d = chain_abar(chain_betas(N))[N // 2]
        ks = np.max(np.abs(gm.cdf(grid, a_d) - gm.cdf(grid, a_c)))
        print(f"   N={N:>5}: abar 离散={a_d:.6f} 连续={a_c:.6f} 相对差={a_d / a_c - 1:+.2e}  KS={ks:.2e}")
    x = simulate_chain(gm.sample(20000, np.random.default_rng(0)), chain_betas(50)[:25],
                       np.random.default_rng(1))
    print(f"   N=50 模拟 25 步: 样本与离散边缘的 KS={ks_distance(x, gm, chain_abar(chain_betas(50))[25]):.4f}"
          f"（n=20000 时 1.95/sqrt(n)={1.95 / np.sqrt(20000):.4f}）")

    print("2) 反向一步：在 x = 1、abar_prev = 0.5 处，真实反向条件与近似的比较")
    x1 = np.array([1.0])
    for beta in (0.08, 0.04, 0.02, 0.01, 0.005):
        m, v, _ = exact_reverse(gm, x1, 0.5, beta)
        mt, vt = tweedie_reverse(gm, x1, 0.5, beta)
        mb, vb = taylor_reverse(gm, x1, 0.5, beta)
        ms, vs = taylor_reverse(gm, x1, 0.5, beta, order="sde")
        kl = kl_to_moment_matched_gaussian(gm, 1.0, 0.5, beta)
        tw = max(abs(mt - m)[0], abs(vt - v)[0])
        tw = "<1e-13" if tw < 1e-13 else f"={tw:.1e}"           # 舍入误差量级，具体数值因平台而异
        print(f"   beta={beta:<6}: Tweedie 误差{tw}  "
              f"贝叶斯/泰勒 均值误差={abs(mb - m)[0]:.2e} 方差误差={abs(vb - v)[0]:.2e}  "
              f"SDE 步 均值误差={abs(ms - m)[0]:.2e}  非高斯性 KL={kl:.2e}")

    modes = "、".join(f"{m:.2f}" for m in reverse_modes(gm, 0.0, 0.95, 0.5))
    print(f"   大步长 beta=0.5、abar_prev=0.95、x=0：非高斯性 KL="
          f"{kl_to_moment_matched_gaussian(gm, 0.0, 0.95, 0.5):.3f}（真实反向条件是双峰的，峰在 {modes}）")
    print("   点质量数据：泰勒方差 beta/alpha 相对 beta~ 的精度误差（DDPM 线性日程）")
    for t in (2, 10, 100, 500):
        err, pred = taylor_vs_posterior_precision_error(t)
        print(f"   t={t:>4}: {err:.4f}（预言 beta_t/(alpha_t(1-abar_(t-1))) = {pred:.4f}）")

    print("3) 数据为 N(0.7, 0.2^2) 时，反向链输出的精确方差（真值 0.04）")
    for N in (10, 100, 1000, 10000):
        b = chain_betas(N, "exact")
        out = [gaussian_reverse_chain_moments(0.7, 0.2, b, v)[1] for v in ("beta", "tilde", "exact")]
        print(f"   N={N:>5}: 反向方差取 beta: {out[0]:.5f}   取 beta~: {out[1]:.5f}   取真实条件方差: {out[2]:.5f}")

    print("4) 混合数据的反向链（n = 20000，KS 的 0.1% 临界值 1.95/sqrt(n) = 0.0138）")
    x_N = np.random.default_rng(2).standard_normal(20000)
    mean, var = gm.moments()
    print(f"   真值: 均值={mean:+.4f} 方差={var:.4f}")
    for kernel, Ns in (("exact_moments", (5, 10, 20, 100)), ("sde", (20, 100, 300))):
        for N in Ns:
            x = ancestral_sample(gm, x_N, chain_betas(N, "exact"), np.random.default_rng(3), kernel)
            print(f"   {kernel:<13} N={N:>4}: 均值={x.mean():+.4f} 方差={x.var():.4f} KS={ks_distance(x, gm):.4f}")


if __name__ == "__main__":
    main()
