"""两类一维高斯混合上的 classifier guidance / classifier-free guidance（纯 NumPy）。

数据：类别 c ~ Categorical(pi)，x_0 | c ~ N(mu_c, s_c^2)。前向过程与 DDPM 相同：
x_t = sqrt(abar_t) x_0 + sigma_t eps，sigma_t = sqrt(1 - abar_t)。于是
    p_t(x | c) = N(x; sqrt(abar_t) mu_c, abar_t s_c^2 + sigma_t^2)，
    p_t(x)     = sum_c pi_c p_t(x | c)，
    p_t(c | x) = pi_c p_t(x | c) / p_t(x)（"加噪分类器"，由贝叶斯公式精确得到）。
条件得分、无条件得分和分类器梯度都有闭式解，用它们代替训练好的网络，
就能只看"引导"本身对采样分布做了什么。
"""
from math import erf, sqrt

import numpy as np


# ---------------------------------------------------------------- 噪声日程（与 DDPM 相同）
def linear_schedule(T=1000, beta_start=1e-4, beta_end=0.02):
    """返回长度 T+1 的 beta 与 abar，下标即时间步 t；abar[0] = 1 表示干净数据。"""
    beta = np.concatenate([[0.0], np.linspace(beta_start, beta_end, T)])
    return beta, np.cumprod(1.0 - beta)


# ---------------------------------------------------------------- 两类数据及其加噪边缘
class TwoClassGaussians:
    def __init__(self, priors=(0.6, 0.4), means=(-0.8, 0.8), stds=(0.7, 0.6)):
        self.pi = np.asarray(priors, float)
        self.mu = np.asarray(means, float)
        self.s = np.asarray(stds, float)
        assert np.isclose(self.pi.sum(), 1.0) and len(self.pi) == 2

    def sample(self, n, rng, c=None):
        """c=None 时从 p(x) 抽样；否则从 p(x | c) 抽样。"""
        k = rng.choice(2, size=n, p=self.pi) if c is None else np.full(n, c)
        return self.mu[k] + self.s[k] * rng.standard_normal(n)

    def _terms(self, x, abar):
        """对每个类别 c 返回 log pi_c + log p_t(x|c) 以及 d/dx log p_t(x|c)，形状 (2, n)。"""
        m = np.sqrt(abar) * self.mu
        v = abar * self.s ** 2 + (1.0 - abar)
        d = np.asarray(x, float).reshape(1, -1) - m[:, None]
        log_joint = (np.log(self.pi) - 0.5 * np.log(2 * np.pi * v))[:, None] - 0.5 * d * d / v[:, None]
        return log_joint, -d / v[:, None]

    # ---- 对数密度（供有限差分检验）
    def log_p(self, x, abar, c=None):
        lj, _ = self._terms(x, abar)
        if c is not None:
            return (lj[c] - np.log(self.pi[c])).reshape(np.shape(x))
        return np.logaddexp(lj[0], lj[1]).reshape(np.shape(x))

    def log_classifier(self, x, abar, c):
        """log p_t(c | x)：加噪数据上的贝叶斯最优分类器。"""
        lj, _ = self._terms(x, abar)
        return (lj[c] - np.logaddexp(lj[0], lj[1])).reshape(np.shape(x))

    # ---- 三个得分
    def scores(self, x, abar):
        """返回 (条件得分 [2, n], 无条件得分 [n], 后验 p_t(c|x) [2, n])。"""
        lj, g = self._terms(x, abar)
        r1 = 1.0 / (1.0 + np.exp(lj[0] - lj[1]))          # p_t(c=1 | x)，logistic 形式数值稳定
        r = np.stack([1.0 - r1, r1])
        return g, (r * g).sum(axis=0), r

    def classifier_grad(self, x, abar, c):
        """d/dx log p_t(c | x) = g_c - sum_k r_k g_k（直接对 log-softmax 求导）。"""
        g, _, r = self.scores(x, abar)
        return (g[c] - (r * g).sum(axis=0)).reshape(np.shape(x))

    # ---- t = 0 时的贝叶斯分类区域，用于度量"类别纯度"
    def bayes_label(self, x):
        lj, _ = self._terms(x, 1.0)
        return (lj[1] > lj[0]).astype(int).reshape(np.shape(x))

    def class1_interval(self):
        """log pi_1 N(x;mu_1,s_1^2) > log pi_0 N(x;mu_0,s_0^2) 的解集（s_1 < s_0 时是一个有界区间）。"""
        (m0, m1), (s0, s1), (p0, p1) = self.mu, self.s, self.pi
        a = 0.5 / s0 ** 2 - 0.5 / s1 ** 2
        b = m1 / s1 ** 2 - m0 / s0 ** 2
        k = (np.log(p1 / s1) - np.log(p0 / s0)) - 0.5 * m1 ** 2 / s1 ** 2 + 0.5 * m0 ** 2 / s0 ** 2
        lo, hi = np.sort(np.roots([a, b, k]).real)        # a x^2 + b x + k > 0，a < 0
        assert a < 0
        return lo, hi

    def purity_exact(self, c, dist):
        """dist="cond"：样本来自 p(x|c)；dist="uncond"：来自 p(x)。返回贝叶斯标签等于 c 的概率。"""
        lo, hi = self.class1_interval()
        Phi = lambda z: 0.5 * (1.0 + erf(z / sqrt(2.0)))
        inside = np.array([Phi((hi - m) / s) - Phi((lo - m) / s) for m, s in zip(self.mu, self.s)])
        in1 = inside[c] if dist == "cond" else float(self.pi @ inside)
        return in1 if c == 1 else 1.0 - in1


# ---------------------------------------------------------------- 引导后的噪声预测
def guided_eps(model, x, abar, c, w, method="cfg"):
    """返回引导后的 eps。两种写法在得分精确时完全相同：
    classifier：eps_uncond - w * sigma_t * grad log p_t(c|x)        （Dhariwal & Nichol 的 eps 形式）
    cfg       ：eps_uncond + w * (eps_cond - eps_uncond)            （w=0 无条件，w=1 条件）"""
    sigma = np.sqrt(1.0 - abar)
    g, uncond, r = model.scores(x, abar)
    eps_u = -sigma * uncond
    if method == "cfg":
        eps_c = -sigma * g[c]
        return eps_u + w * (eps_c - eps_u)
    if method == "classifier":
        grad_cls = g[c] - (r * g).sum(axis=0)
        return eps_u - w * sigma * grad_cls
    raise ValueError(method)


# ---------------------------------------------------------------- 采样器
def ddpm_sample(model, x_T, c, w, rng, T=1000, method="cfg"):
    """DDPM 祖先采样（后验方差 beta~_t），每步把 eps 换成引导后的版本。"""
    beta, abar = linear_schedule(T)
    x = np.array(x_T, float)
    for t in range(T, 0, -1):
        eps = guided_eps(model, x, abar[t], c, w, method)
        x = (x - beta[t] / np.sqrt(1.0 - abar[t]) * eps) / np.sqrt(1.0 - beta[t])
        if t > 1:
            x += np.sqrt(beta[t] * (1.0 - abar[t - 1]) / (1.0 - abar[t])) * rng.standard_normal(x.shape)
    return x


def ddim_sample(model, x_T, c, w, S=100, T=1000, method="cfg"):
    """确定性 DDIM（eta=0），线性子序列 tau_0 = 0 < tau_1 = 1 < ... < tau_S = T。"""
    _, abar = linear_schedule(T)
    tau = np.concatenate([[0], np.round(1 + (T - 1) * np.linspace(0.0, 1.0, S)).astype(int)])
    x = np.array(x_T, float)
    for i in range(S, 0, -1):
        a_t, a_s = abar[tau[i]], abar[tau[i - 1]]
        eps = guided_eps(model, x, a_t, c, w, method)
        x0_hat = (x - np.sqrt(1.0 - a_t) * eps) / np.sqrt(a_t)
        x = np.sqrt(a_s) * x0_hat + np.sqrt(1.0 - a_s) * eps
    return x


# ---------------------------------------------------------------- "锐化分布" p(x) p(c|x)^w 的精确数值
def tilted_target(model, c, w, grid=None):
    """在网格上归一化 p_0(x) p_0(c|x)^w，返回 (网格, 密度权重, 贝叶斯纯度, 均值, 标准差)。"""
    x = np.linspace(-8, 8, 32001) if grid is None else grid
    logw = model.log_p(x, 1.0) + w * model.log_classifier(x, 1.0, c)
    p = np.exp(logw - logw.max())
    p /= p.sum()
    mean = float(p @ x)
    return x, p, float(p @ (model.bayes_label(x) == c)), mean, float(np.sqrt(p @ (x - mean) ** 2))


def posterior_expectation(model, x_t, abar, f, n_grid=8001):
    """E[f(x_0) | x_t]：在 x_0 的网格上对后验 p_0(x_0) q(x_t | x_0) 做数值积分（逐点）。"""
    x0 = np.linspace(-8, 8, n_grid)
    log_prior = model.log_p(x0, 1.0)
    x_t = np.atleast_1d(np.asarray(x_t, float))
    out = np.empty_like(x_t)
    fx = f(x0)
    for i, xt in enumerate(x_t):
        lw = log_prior - 0.5 * (xt - np.sqrt(abar) * x0) ** 2 / (1.0 - abar)
        wgt = np.exp(lw - lw.max())
        out[i] = wgt @ fx / wgt.sum()
    return out


def tilt_ratio(model, x_t, abar, c, w, h=1e-3):
    """R_t(x) = E[p_0(c|x_0)^w | x_t] / (E[p_0(c|x_0) | x_t])^w 及 d/dx log R_t（中心差分）。
    p_0(x) p_0(c|x)^w 加噪后的密度正比于 p_t(x) E[p_0(c|x_0)^w | x_t]，引导所用的是 p_t(x) p_t(c|x)^w，
    两者之比就是 R_t；R_t 随 x 变化，两者的得分就相差 d/dx log R_t。"""
    clean = lambda x0: np.exp(model.log_classifier(x0, 1.0, c))
    log_r = lambda y: (np.log(posterior_expectation(model, y, abar, lambda x0: clean(x0) ** w))
                       - w * np.log(posterior_expectation(model, y, abar, clean)))
    x_t = np.atleast_1d(np.asarray(x_t, float))
    return np.exp(log_r(x_t)), (log_r(x_t + h) - log_r(x_t - h)) / (2 * h)


# ---------------------------------------------------------------- 演示
def summarize(model, x, c):
    conf = np.exp(model.log_classifier(x, 1.0, c))
    return {"purity": float(np.mean(model.bayes_label(x) == c)), "conf": float(conf.mean()),
            "mean": float(x.mean()), "std": float(x.std())}


def main(n=10_000, n_ddpm=5_000, seed=0, c=1):
    model = TwoClassGaussians()
    x_T = np.random.default_rng(seed).standard_normal(n)
    lo, hi = model.class1_interval()
    print(f"类别 1 的贝叶斯区域: ({lo:.3f}, {hi:.3f})；精确纯度: p(x) 下 {model.purity_exact(c, 'uncond'):.4f}，"
          f"p(x|c=1) 下 {model.purity_exact(c, 'cond'):.4f}")
    print(f"{'w':>4} | {'DDPM 1000 步: 纯度  置信度  均值   标准差':<34}| {'DDIM 100 步: 纯度  置信度  均值   标准差':<34}"
          f"| p(x)p(c|x)^w: 纯度  均值   标准差")
    for w in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0):
        a = summarize(model, ddpm_sample(model, x_T[:n_ddpm], c, w, np.random.default_rng(seed + 1)), c)
        b = summarize(model, ddim_sample(model, x_T, c, w), c)
        _, _, pt, mt, st = tilted_target(model, c, w)
        print(f"{w:>4.1f} |      {a['purity']:.4f} {a['conf']:.4f} {a['mean']:+.3f} {a['std']:.3f}"
              f"     |      {b['purity']:.4f} {b['conf']:.4f} {b['mean']:+.3f} {b['std']:.3f}"
              f"     |      {pt:.4f} {mt:+.3f} {st:.3f}")

    # "先锐化再加噪" 与 "加噪后再锐化" 之比 R_t(x)，t = 300，w = 3
    t, w = 300, 3.0
    _, abar = linear_schedule()
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0])
    ratio, dlog = tilt_ratio(model, x, abar[t], c, w)
    guided = model.scores(x, abar[t])[1] + w * model.classifier_grad(x, abar[t], c)
    print(f"\nt = {t}，w = {w:g}：R_t(x) = E[p(c|x_0)^w | x_t=x] / p_t(c|x)^w；引导得分 s_w 与 d/dx log R_t")
    for name, row in (("x", x), ("R_t", ratio), ("dlogR_t/dx", dlog), ("s_w", guided)):
        print(f"  {name:<11}" + "".join(f"{v:>8.3f}" for v in row))


if __name__ == "__main__":
    main()
