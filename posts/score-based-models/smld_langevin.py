"""得分匹配与退火朗之万动力学（SMLD / NCSN）的玩具实现，纯 NumPy。

数据分布是 R^d 中各向同性分量的高斯混合 p(x) = sum_k pi_k N(x; mu_k, rho_k^2 I)（rho_k 为分量标准差）。
加噪声 x~ = x + sigma z 之后仍是高斯混合（分量方差变成 rho_k^2 + sigma^2），
所以任意噪声水平下的得分都有闭式解，可以把"采样器的误差"和"网络的误差"分开。
"""

import numpy as np


# ----------------------------------------------------------------------------- 高斯混合
class IsoGaussianMixture:
    def __init__(self, weights, means, stds):
        self.w = np.asarray(weights, float)
        self.mu = np.atleast_2d(np.asarray(means, float))     # (K, d)
        self.rho = np.asarray(stds, float)                     # (K,) 分量标准差
        assert np.isclose(self.w.sum(), 1.0) and len(self.w) == len(self.mu) == len(self.rho)

    @property
    def dim(self):
        return self.mu.shape[1]

    def sample(self, n, rng, sigma=0.0):
        """从 q_sigma = p * N(0, sigma^2 I) 抽样，同时返回分量编号。"""
        k = rng.choice(len(self.w), size=n, p=self.w)
        sd = np.sqrt(self.rho[k] ** 2 + sigma ** 2)[:, None]
        return self.mu[k] + sd * rng.standard_normal((n, self.dim)), k

    def _log_joint(self, x, sigma):
        """log pi_k + log N(x; mu_k, v_k I)，形状 (n, K)；另返回 v_k。
        ||x - mu_k||^2 展开成 ||x||^2 - 2 x.mu_k + ||mu_k||^2，只用矩阵乘法，速度快。"""
        x = np.atleast_2d(x)
        v = self.rho ** 2 + sigma ** 2                         # (K,)
        sq = ((x * x).sum(axis=1)[:, None] - 2.0 * x @ self.mu.T
              + (self.mu * self.mu).sum(axis=1)[None, :])      # (n, K)
        lj = np.log(self.w) - 0.5 * self.dim * np.log(2 * np.pi * v) - 0.5 * sq / v
        return lj, v

    def log_prob(self, x, sigma=0.0):
        lj, _ = self._log_joint(x, sigma)
        m = lj.max(axis=1, keepdims=True)                      # log-sum-exp
        return (m + np.log(np.exp(lj - m).sum(axis=1, keepdims=True)))[:, 0]

    def responsibilities(self, x, sigma=0.0):
        """r_k(x) = P(分量 k | x)，形状 (n, K)。"""
        lj, _ = self._log_joint(x, sigma)
        r = np.exp(lj - lj.max(axis=1, keepdims=True))
        return r / r.sum(axis=1, keepdims=True)

    def score(self, x, sigma=0.0):
        """grad_x log q_sigma(x) = -sum_k r_k(x) (x - mu_k) / v_k，形状 (n, d)。"""
        x = np.atleast_2d(x)
        lj, v = self._log_joint(x, sigma)
        r = np.exp(lj - lj.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        rv = r / v                                             # (n, K)
        return rv @ self.mu - x * rv.sum(axis=1, keepdims=True)


def default_mixture():
    """Song & Ermon (2019) 图 3 式的两峰例子：权重 0.2 / 0.8，两峰相距很远。"""
    return IsoGaussianMixture(weights=[0.2, 0.8], means=[[-2.0, -2.0], [2.0, 2.0]], stds=[0.5, 0.5])


# ----------------------------------------------------------------------------- 朗之万动力学
def langevin(score_fn, x, step, n_steps, rng):
    """x <- x + step/2 * score(x) + sqrt(step) * z，重复 n_steps 次。"""
    x = np.array(x, float)
    for _ in range(n_steps):
        x = x + 0.5 * step * score_fn(x) + np.sqrt(step) * rng.standard_normal(x.shape)
    return x


def geometric_sigmas(sigma_max, sigma_min, L):
    """sigma_1 > sigma_2 > ... > sigma_L，相邻比值恒定。"""
    return np.geomspace(sigma_max, sigma_min, L)


def annealed_langevin(gm, x, sigmas, eps, n_steps, rng, return_levels=False):
    """NCSN 的退火朗之万采样：第 i 级噪声用步长 alpha_i = eps * sigma_i^2 / sigma_L^2。
    return_levels=True 时另返回每一级结束时的样本（列表，第 i 项对应 sigmas[i]）。"""
    x = np.array(x, float)
    levels = []
    for sig in sigmas:
        alpha = eps * sig ** 2 / sigmas[-1] ** 2
        x = langevin(lambda y: gm.score(y, sig), x, alpha, n_steps, rng)
        levels.append(x)
    return (x, levels) if return_levels else x


def langevin_gaussian_stationary_var(v, step):
    """方差为 v 的高斯上，离散朗之万链的平稳方差 v / (1 - step / (4 v))（正文推导）。"""
    return v / (1.0 - step / (4.0 * v))


# ----------------------------------------------------------------------------- 得分匹配目标
# 一维参数族 s_theta(x) = a x + b + c tanh(x)，用网格求积精确计算各目标（没有蒙特卡洛误差）。
def model_score(theta, x):
    a, b, c = theta
    return a * x + b + c * np.tanh(x)


def model_score_dx(theta, x):
    a, _, c = theta
    return a + c / np.cosh(x) ** 2


def esm_loss(theta, gm1, sigma=0.0, grid=None):
    """显式得分匹配 1/2 E_q ||s_theta - grad log q_sigma||^2。"""
    x = np.linspace(-15, 15, 30001) if grid is None else grid
    q = np.exp(gm1.log_prob(x[:, None], sigma))
    err = model_score(theta, x) - gm1.score(x[:, None], sigma)[:, 0]
    return 0.5 * np.sum(q * err ** 2) * (x[1] - x[0])


def ism_loss(theta, gm1, grid=None):
    """隐式得分匹配（Hyvarinen）E_p [ s_theta'(x) + 1/2 s_theta(x)^2 ]。"""
    x = np.linspace(-15, 15, 30001) if grid is None else grid
    p = np.exp(gm1.log_prob(x[:, None], 0.0))
    return np.sum(p * (model_score_dx(theta, x) + 0.5 * model_score(theta, x) ** 2)) * (x[1] - x[0])


def dsm_loss(theta, gm1, sigma, n_herm=80, grid=None):
    """去噪得分匹配 1/2 E_{x~p, z~N(0,1)} (s_theta(x + sigma z) + z / sigma)^2。
    对 z 用 Gauss-Hermite 求积，对 x 用网格求积。"""
    x = np.linspace(-15, 15, 6001) if grid is None else grid
    p = np.exp(gm1.log_prob(x[:, None], 0.0))
    nodes, wts = np.polynomial.hermite_e.hermegauss(n_herm)   # 权函数 exp(-z^2/2)
    wts = wts / np.sqrt(2 * np.pi)
    xt = x[:, None] + sigma * nodes[None, :]
    inner = (model_score(theta, xt) + nodes[None, :] / sigma) ** 2 @ wts
    return 0.5 * np.sum(p * inner) * (x[1] - x[0])


def fisher_information(gm1, sigma=0.0):
    """E_q ||grad log q_sigma||^2（一维），用于预言各目标之间的常数差。"""
    x = np.linspace(-15, 15, 30001)
    q = np.exp(gm1.log_prob(x[:, None], sigma))
    return np.sum(q * gm1.score(x[:, None], sigma)[:, 0] ** 2) * (x[1] - x[0])


def sliced_sm_terms(A, b, x, v):
    """线性得分模型 s(x) = -A (x - b) 的切片得分匹配逐样本项
    v^T (ds/dx) v + 1/2 (v^T s)^2，以及对应的隐式得分匹配逐样本项 tr(ds/dx) + 1/2 ||s||^2。"""
    s = -(x - b) @ A.T
    ssm = -np.einsum("ni,ij,nj->n", v, A, v) + 0.5 * np.einsum("ni,ni->n", v, s) ** 2
    ism = -np.trace(A) + 0.5 * np.einsum("ni,ni->n", s, s)
    return ssm, ism


# ----------------------------------------------------------------------------- 实验
def mode_fractions(gm, x):
    """按后验责任最大（sigma = 0）把样本分给各分量，返回各分量比例。"""
    k = gm.responsibilities(x).argmax(axis=1)
    return np.bincount(k, minlength=len(gm.w)) / len(x)


def within_mode_stats(gm, x):
    """各峰内的样本均值（K, d）与合并的逐坐标方差。"""
    k = gm.responsibilities(x).argmax(axis=1)
    means = np.array([x[k == j].mean(axis=0) for j in range(len(gm.w))])
    resid = x - means[k]
    return means, float(resid.var())


def predicted_within_var(rho, sigmas, eps, n_steps):
    """把每个峰（标准差 rho）近似成方差 v_i = rho^2 + sigma_i^2 的高斯，逐级迭代离散朗之万链的
    方差递推 V <- kappa^2 V + alpha（kappa = 1 - alpha/(2 v)），得到退火结束时峰内方差的预言值。"""
    V = rho ** 2 + sigmas[0] ** 2
    for sig in sigmas:
        v, alpha = rho ** 2 + sig ** 2, eps * sig ** 2 / sigmas[-1] ** 2
        kappa2 = (1.0 - alpha / (2 * v)) ** 2
        V_inf = langevin_gaussian_stationary_var(v, alpha)
        V = V_inf + kappa2 ** n_steps * (V - V_inf)
    return V


SIGMA_MAX, SIGMA_MIN = 10.0, 0.1
EPS = 4e-3          # 最后一级的步长 alpha_L
N_STEPS = 100       # 每级步数 T


def run_annealed(n, L, seed, n_steps=N_STEPS, eps=EPS, return_levels=False):
    gm = default_mixture()
    rng = np.random.default_rng(seed)
    x_init = rng.uniform(-8, 8, size=(n, 2))
    sigmas = geometric_sigmas(SIGMA_MAX, SIGMA_MIN, L)
    return annealed_langevin(gm, x_init, sigmas, eps, n_steps, rng, return_levels)


def run_single_level(n, total_steps, seed, eps=EPS):
    """对照：只用最小噪声级 sigma_L 的得分、同样的步长 eps、同样多的总步数。"""
    gm = default_mixture()
    rng = np.random.default_rng(seed)
    x_init = rng.uniform(-8, 8, size=(n, 2))
    x = langevin(lambda y: gm.score(y, SIGMA_MIN), x_init, eps, total_steps, rng)
    return x_init, x


def main(n=4000):
    gm = default_mixture()
    print(f"目标：各峰比例 {gm.w}，峰内逐坐标方差 rho^2 + sigma_L^2 = {0.25 + SIGMA_MIN ** 2:.4f}")
    for L in (10, 20):
        x = run_annealed(n, L, seed=0)
        means, var = within_mode_stats(gm, x)
        pred = predicted_within_var(0.5, geometric_sigmas(SIGMA_MAX, SIGMA_MIN, L), EPS, N_STEPS)
        print(f"退火朗之万 L={L:>2} T={N_STEPS}: 各峰比例={np.round(mode_fractions(gm, x), 4)} "
              f"峰内均值={np.round(means, 3).tolist()} 峰内方差={var:.4f}（递推预言 {pred:.4f}）")
    x_init, x = run_single_level(n, 20 * N_STEPS, seed=0)
    print(f"单一噪声级朗之万 {20 * N_STEPS} 步: 各峰比例={np.round(mode_fractions(gm, x), 4)}；"
          f"初始点落在各吸引域的比例={np.round(mode_fractions(gm, x_init), 4)}")
    g1 = IsoGaussianMixture([0.2, 0.8], [[-2.0], [2.0]], [0.5, 0.5])
    print("一维混合上的各得分匹配目标（三组参数）：")
    for th in ((-1.0, 0.0, 0.0), (-2.0, 0.3, 1.5), (-0.5, -0.2, -2.0)):
        e, i = esm_loss(th, g1), ism_loss(th, g1)
        ed, d = esm_loss(th, g1, sigma=0.5), dsm_loss(th, g1, sigma=0.5)
        print(f"  theta={th}: ESM={e:.6f} ISM={i:.6f} 差={e - i:.6f} | "
              f"ESM(q_0.5)={ed:.6f} DSM={d:.6f} 差={d - ed:.6f}")
    print(f"  预言：ESM-ISM = I(p)/2 = {0.5 * fisher_information(g1):.6f}，"
          f"DSM-ESM = (1/sigma^2 - I(q_sigma))/2 = {0.5 * (1 / 0.25 - fisher_information(g1, 0.5)):.6f}")


if __name__ == "__main__":
    main()
