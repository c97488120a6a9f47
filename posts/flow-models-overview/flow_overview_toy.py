"""Flow 模型总览的数值实验（纯 NumPy）。

1. 瞬时变量替换公式 d log p_t(x_t)/dt = -tr(dv/dx)：
   (a) 仿射场 v = A(t) x + b(t)，边缘分布是高斯，均值/协方差由各自的矩方程独立积分得到；
   (b) 非线性场（一个随机的小 MLP），用有限差分算出流映射的雅可比行列式作"蛮力"参照。
2. Hutchinson 迹估计：无偏性与高斯 / Rademacher 探针的方差公式。
3. 条件 Flow Matching（CFM）与边缘 Flow Matching（FM）：一维高斯混合 + 线性（OT）路径，
   边缘速度场 u_t(x) = E[u_t(x|X_1) | X_t = x] 有闭式解；对线性参数化的 v_theta，
   两个损失之差与 theta 无关（只差一个常数），常数等于条件方差的期望。

记号（Flow Matching 的约定）：t 从 0（噪声 p_0 = N(0, I)）走到 1（数据 p_1）。
"""
import numpy as np


# ================================================================ ODE 工具
def rk4(f, y0, t0, t1, n_steps):
    """经典四阶 Runge-Kutta，f(y, t) -> dy/dt，y 可以是任意形状的数组。"""
    y = np.array(y0, float)
    h = (t1 - t0) / n_steps
    t = t0
    for _ in range(n_steps):
        k1 = f(y, t)
        k2 = f(y + 0.5 * h * k1, t + 0.5 * h)
        k3 = f(y + 0.5 * h * k2, t + 0.5 * h)
        k4 = f(y + h * k3, t + h)
        y = y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
    return y


def gauss_logpdf(x, mean, cov):
    """多元高斯对数密度，x 形状 (n, d)。"""
    d = len(mean)
    L = np.linalg.cholesky(cov)
    z = np.linalg.solve(L, (x - mean).T)
    return -0.5 * np.sum(z * z, axis=0) - np.log(np.diag(L)).sum() - 0.5 * d * np.log(2 * np.pi)


# ================================================================ 1a. 仿射场
class AffineField:
    """v(x, t) = (A0 + t A1) x + (b0 + t b1)。雅可比就是 A(t)，迹与 x 无关。"""

    def __init__(self, A0, A1, b0, b1):
        self.A0, self.A1 = np.asarray(A0, float), np.asarray(A1, float)
        self.b0, self.b1 = np.asarray(b0, float), np.asarray(b1, float)

    def A(self, t):
        return self.A0 + t * self.A1

    def b(self, t):
        return self.b0 + t * self.b1

    def v(self, x, t):
        return x @ self.A(t).T + self.b(t)

    def div(self, x, t):
        return np.full(x.shape[0], np.trace(self.A(t)))


def random_affine_field(d=3, seed=0):
    rng = np.random.default_rng(seed)
    return AffineField(0.6 * rng.standard_normal((d, d)), 0.6 * rng.standard_normal((d, d)),
                       rng.standard_normal(d), rng.standard_normal(d))


def push_with_logdensity(field, x0, logp0, t1=1.0, n_steps=200):
    """把增广状态 [x, log p] 一起积分：dx/dt = v，d log p/dt = -div v。"""
    n, d = x0.shape

    def f(y, t):
        x = y[:, :d]
        return np.concatenate([field.v(x, t), -field.div(x, t)[:, None]], axis=1)

    y = rk4(f, np.concatenate([x0, logp0[:, None]], axis=1), 0.0, t1, n_steps)
    return y[:, :d], y[:, d]


def affine_gaussian_moments(field, m0, S0, t1=1.0, n_steps=200):
    """独立参照：高斯在仿射流下保持高斯，dm/dt = A m + b，dS/dt = A S + S A^T。"""
    d = len(m0)

    def f(y, t):
        m, S = y[:d], y[d:].reshape(d, d)
        A = field.A(t)
        return np.concatenate([A @ m + field.b(t), (A @ S + S @ A.T).ravel()])

    y = rk4(f, np.concatenate([m0, np.asarray(S0, float).ravel()]), 0.0, t1, n_steps)
    return y[:d], y[d:].reshape(d, d)


# ================================================================ 1b. 非线性场
class MLPField:
    """v(x, t) = W2 tanh(W1 x + c t + e) + g：一个随机初始化的小网络，雅可比有解析式。"""

    def __init__(self, d=2, hidden=16, scale=0.8, seed=1):
        rng = np.random.default_rng(seed)
        self.W1 = scale * rng.standard_normal((hidden, d))
        self.c = rng.standard_normal(hidden)
        self.e = 0.5 * rng.standard_normal(hidden)
        self.W2 = scale * rng.standard_normal((d, hidden)) / np.sqrt(hidden)
        self.g = 0.3 * rng.standard_normal(d)

    def _pre(self, x, t):
        return x @ self.W1.T + t * self.c + self.e

    def v(self, x, t):
        return np.tanh(self._pre(x, t)) @ self.W2.T + self.g

    def jac(self, x, t):
        """dv/dx，形状 (n, d, d)：W2 diag(1 - tanh^2) W1。"""
        s = 1.0 - np.tanh(self._pre(x, t)) ** 2
        return np.einsum("dh,nh,hk->ndk", self.W2, s, self.W1)

    def div(self, x, t):
        s = 1.0 - np.tanh(self._pre(x, t)) ** 2
        return s @ np.einsum("dh,hd->h", self.W2, self.W1)   # tr(W2 diag(s) W1) = sum_h s_h sum_d W2[d,h] W1[h,d]

    def jvp_div_hutchinson(self, x, t, xi):
        """Hutchinson：xi^T (dv/dx) xi，xi 形状 (n, d)。"""
        J = self.jac(x, t)
        return np.einsum("nd,ndk,nk->n", xi, J, xi)


def push_with_hutchinson(field, x0, logp0, rng, t1=1.0, n_steps=200):
    """FFJORD 式的随机版本：每条轨迹抽一个探针 xi，整段积分中固定不变，
    d log p/dt ≈ -xi^T (dv/dx) xi。对 xi 取期望就回到精确的散度积分。"""
    n, d = x0.shape
    xi = rng.standard_normal((n, d))

    def f(y, t):
        x = y[:, :d]
        return np.concatenate([field.v(x, t), -field.jvp_div_hutchinson(x, t, xi)[:, None]], axis=1)

    y = rk4(f, np.concatenate([x0, logp0[:, None]], axis=1), 0.0, t1, n_steps)
    return y[:, :d], y[:, d]


def flow_map(field, x0, t1=1.0, n_steps=200):
    return rk4(lambda x, t: field.v(x, t), x0, 0.0, t1, n_steps)


def logdet_flow_map_fd(field, x0, h=1e-5, t1=1.0, n_steps=200):
    """蛮力参照：对流映射 phi_1 做中心差分得到 d x_1 / d x_0，再取 log|det|。"""
    n, d = x0.shape
    J = np.empty((n, d, d))
    for k in range(d):
        e = np.zeros(d)
        e[k] = h
        J[:, :, k] = (flow_map(field, x0 + e, t1, n_steps) - flow_map(field, x0 - e, t1, n_steps)) / (2 * h)
    return np.linalg.slogdet(J)[1]


# ================================================================ 2. Hutchinson
def hutchinson(A, n_probes, rng, kind="gaussian"):
    """返回 n_probes 个单探针估计 xi^T A xi。"""
    d = A.shape[0]
    if kind == "gaussian":
        xi = rng.standard_normal((n_probes, d))
    elif kind == "rademacher":
        xi = rng.choice([-1.0, 1.0], size=(n_probes, d))
    else:
        raise ValueError(kind)
    return np.einsum("nd,dk,nk->n", xi, A, xi)


def hutchinson_variance(A, kind="gaussian"):
    """单探针估计的精确方差：高斯 2||A_sym||_F^2，Rademacher 2(||A_sym||_F^2 - sum_i A_ii^2)。"""
    A_sym = 0.5 * (A + A.T)
    fro2 = float(np.sum(A_sym * A_sym))
    return 2 * fro2 if kind == "gaussian" else 2 * (fro2 - float(np.sum(np.diag(A) ** 2)))


# ================================================================ 3. CFM vs FM
class MixtureOTPath:
    """数据 p_1 = sum_k w_k N(mu_k, s_k^2)（一维），噪声 p_0 = N(0, 1)。
    条件路径（Lipman 等的 OT 路径）：x_t = t x_1 + sigma_t x_0，sigma_t = 1 - (1 - sigma_min) t，
    条件速度 u_t(x | x_1) = (x_1 - (1 - sigma_min) x) / sigma_t，沿样本即 x_1 - (1 - sigma_min) x_0。"""

    def __init__(self, w=(0.5, 0.3, 0.2), mu=(-2.0, 0.5, 3.0), s=(0.4, 0.3, 0.6), sigma_min=0.0):
        self.w, self.mu, self.s = (np.asarray(a, float) for a in (w, mu, s))
        self.a = 1.0 - sigma_min
        self.sigma_min = sigma_min

    def sigma(self, t):
        return 1.0 - self.a * t

    def sample(self, n, rng):
        k = rng.choice(len(self.w), size=n, p=self.w)
        t = rng.uniform(0.0, 1.0, n)
        x1 = self.mu[k] + self.s[k] * rng.standard_normal(n)
        x0 = rng.standard_normal(n)
        xt = t * x1 + self.sigma(t) * x0
        u_cond = x1 - self.a * x0
        return t, xt, u_cond

    def sample_at(self, t, n, rng):
        """固定时刻 t 的 (x_t, 条件速度) 样本。"""
        k = rng.choice(len(self.w), size=n, p=self.w)
        x1 = self.mu[k] + self.s[k] * rng.standard_normal(n)
        x0 = rng.standard_normal(n)
        return t * x1 + self.sigma(t) * x0, x1 - self.a * x0

    def _component_stats(self, x, t):
        """各分量下 (U, X_t) 的联合高斯：返回 log 权重、E[U|x,k]、Var[U|x,k]，形状 (K, n)。"""
        t = np.asarray(t, float)[None, :]
        sig = self.sigma(t)
        mu, s2 = self.mu[:, None], (self.s ** 2)[:, None]
        var_x = t * t * s2 + sig * sig            # Var(X_t | k)
        cov = t * s2 - self.a * sig               # Cov(U, X_t | k)
        var_u = s2 + self.a ** 2                  # Var(U | k)
        d = x[None, :] - t * mu
        logw = np.log(self.w)[:, None] - 0.5 * np.log(2 * np.pi * var_x) - 0.5 * d * d / var_x
        mean = mu + cov / var_x * d
        var = var_u - cov * cov / var_x
        return logw, mean, var

    def marginal_velocity(self, x, t):
        logw, mean, _ = self._component_stats(np.asarray(x, float), t)
        r = np.exp(logw - logw.max(axis=0))
        r /= r.sum(axis=0)
        return np.sum(r * mean, axis=0)

    def conditional_variance(self, x, t):
        """Var[U | X_t = x]：混合的全方差公式。"""
        logw, mean, var = self._component_stats(np.asarray(x, float), t)
        r = np.exp(logw - logw.max(axis=0))
        r /= r.sum(axis=0)
        m = np.sum(r * mean, axis=0)
        return np.sum(r * (var + mean * mean), axis=0) - m * m

    def marginal_density(self, x, t):
        logw, _, _ = self._component_stats(np.asarray(x, float), t)
        return np.exp(logw).sum(axis=0)

    def expected_conditional_variance(self, n_t=64, x_grid=np.linspace(-12, 12, 4801)):
        """C = E_t E_{x ~ p_t}[Var(U | X_t = x)]，用 t 上的 Gauss-Legendre 与 x 上的梯形公式。"""
        nodes, weights = np.polynomial.legendre.leggauss(n_t)
        ts, ws = 0.5 * (nodes + 1.0), 0.5 * weights
        dx = x_grid[1] - x_grid[0]
        total = 0.0
        for t, wt in zip(ts, ws):
            tt = np.full_like(x_grid, t)
            total += wt * np.sum(self.marginal_density(x_grid, tt) * self.conditional_variance(x_grid, tt)) * dx
        return total

    def mean(self):
        return float(self.w @ self.mu)

    def var(self):
        return float(self.w @ (self.s ** 2 + self.mu ** 2)) - self.mean() ** 2


def features(x, t, centers=np.linspace(-6, 6, 17), width=0.75, t_degree=5):
    """线性参数化 v_theta(x, t) = phi(x, t) @ theta：({1, x} ∪ 17 个 RBF(x)) ⊗ {1, t, ..., t^5}，共 114 维。"""
    bx = [np.ones_like(x), x] + [np.exp(-0.5 * ((x - c) / width) ** 2) for c in centers]
    bt = [t ** j for j in range(t_degree + 1)]
    return np.stack([a * b for a in bx for b in bt], axis=1)


def least_squares(Phi, y, ridge=1e-8):
    G = Phi.T @ Phi / len(y)
    return np.linalg.solve(G + ridge * np.eye(G.shape[0]), Phi.T @ y / len(y))


def cfm_fm_experiment(n=60_000, seed=0, path=None):
    """同一批 (t, x_t) 上计算两种回归目标；返回损失、梯度差与最小值点等。"""
    path = path or MixtureOTPath()
    rng = np.random.default_rng(seed)
    t, xt, u_c = path.sample(n, rng)
    u_m = path.marginal_velocity(xt, t)
    Phi = features(xt, t)
    th_cfm, th_fm = least_squares(Phi, u_c), least_squares(Phi, u_m)
    # 两个损失的梯度之差 = -2 mean(phi (u_c - u_m))，与 theta 无关；它的每个分量应当只是抽样噪声
    prod = Phi * (u_c - u_m)[:, None]
    g = prod.mean(axis=0)
    g_se = prod.std(axis=0, ddof=1) / np.sqrt(n)
    return dict(path=path, t=t, xt=xt, u_c=u_c, u_m=u_m, Phi=Phi, th_cfm=th_cfm, th_fm=th_fm,
                grad_gap=g, grad_gap_se=g_se)


def losses(exp, theta):
    pred = exp["Phi"] @ theta
    return float(np.mean((pred - exp["u_c"]) ** 2)), float(np.mean((pred - exp["u_m"]) ** 2))


def sample_with_field(v, n=5_000, n_steps=50, seed=0):
    """从 N(0,1) 出发用 RK4 积分 dx/dt = v(x, t) 到 t = 1。"""
    x0 = np.random.default_rng(seed).standard_normal(n)
    return rk4(lambda x, t: v(x, np.full_like(x, t)), x0, 0.0, 1.0, n_steps)


# ================================================================ 演示
def main():
    rng = np.random.default_rng(0)
    print("== 1a 仿射场：log p_1(x_1) 的两种算法")
    field = random_affine_field()
    m0, S0 = np.zeros(3), np.diag([1.0, 0.5, 2.0])
    x0 = rng.multivariate_normal(m0, S0, size=5)
    x1, logp1 = push_with_logdensity(field, x0, gauss_logpdf(x0, m0, S0))
    m1, S1 = affine_gaussian_moments(field, m0, S0)
    ref = gauss_logpdf(x1, m1, S1)
    print("  瞬时变量替换:", np.round(logp1, 6))
    print("  矩方程参照  :", np.round(ref, 6), " 最大差", f"{np.max(np.abs(logp1 - ref)):.2e}")
    print("  ∫tr A dt =", f"{np.trace(field.A0) + 0.5 * np.trace(field.A1):.6f}",
          " log det S1 - log det S0 =", f"{np.linalg.slogdet(S1)[1] - np.linalg.slogdet(S0)[1]:.6f}")

    print("== 1b 非线性 MLP 场：积分散度 vs 有限差分 log|det dphi/dx0|")
    mlp = MLPField()
    x0 = rng.standard_normal((6, 2))
    logp0 = gauss_logpdf(x0, np.zeros(2), np.eye(2))
    _, logp1 = push_with_logdensity(mlp, x0, logp0)
    brute = logp0 - logdet_flow_map_fd(mlp, x0)
    print("  积分散度   :", np.round(logp1, 6))
    print("  蛮力行列式 :", np.round(brute, 6), " 最大差", f"{np.max(np.abs(logp1 - brute)):.2e}")
    xr = np.repeat(x0[:1], 2000, axis=0)
    _, lh = push_with_hutchinson(mlp, xr, np.repeat(logp0[:1], 2000), np.random.default_rng(7), n_steps=100)
    print(f"  Hutchinson（2000 个探针，每条轨迹一个）: {lh.mean():.4f} ± {lh.std() / np.sqrt(len(lh)):.4f}，"
          f"单探针标准差 {lh.std():.3f}")

    print("== 2 Hutchinson 迹估计（d = 50 的随机矩阵，各 20000 个探针）")
    A = np.random.default_rng(3).standard_normal((50, 50)) + 3 * np.eye(50)
    for kind in ("gaussian", "rademacher"):
        est = hutchinson(A, 20_000, np.random.default_rng(4), kind)
        print(f"  {kind:<10} 均值 {est.mean():8.3f}（真值 {np.trace(A):.3f}）  "
              f"样本方差 {est.var():8.1f}  理论方差 {hutchinson_variance(A, kind):8.1f}")

    print("== 3 CFM 与 FM：同一批 6×10^4 个样本")
    exp = cfm_fm_experiment()
    C = exp["path"].expected_conditional_variance()
    thetas = {"theta=0": np.zeros_like(exp["th_fm"]), "theta*_FM": exp["th_fm"],
              "theta*_CFM": exp["th_cfm"],
              "随机 theta": np.random.default_rng(5).standard_normal(len(exp["th_fm"]))}
    for name, th in thetas.items():
        lc, lf = losses(exp, th)
        print(f"  {name:<11} L_CFM={lc:10.4f}  L_FM={lf:10.4f}  差={lc - lf:.4f}")
    gap = exp["u_c"] ** 2 - exp["u_m"] ** 2
    print(f"  条件方差的期望（求积）C = {C:.4f}；蒙特卡洛 mean(u_c^2 - u_m^2) = {gap.mean():.4f} ± {gap.std() / np.sqrt(len(gap)):.4f}")
    z = np.abs(exp["grad_gap"] / exp["grad_gap_se"])
    print(f"  梯度差 mean(phi (u_c - u_m)) 的 |z| 最大值 = {z.max():.2f}（{len(z)} 个分量）")
    pred_c, pred_f = exp["Phi"] @ exp["th_cfm"], exp["Phi"] @ exp["th_fm"]
    print(f"  两个最小值点的预测差 RMS = {np.sqrt(np.mean((pred_c - pred_f) ** 2)):.4f}，"
          f"v*_FM 对 u_t 的拟合 RMS = {np.sqrt(np.mean((pred_f - exp['u_m']) ** 2)):.4f}")
    path = exp["path"]
    xs_true = sample_with_field(path.marginal_velocity, n=4000, n_steps=25)
    xs_fit = sample_with_field(lambda x, t: features(x, t) @ exp["th_cfm"], n=4000, n_steps=25)
    print(f"  数据: mean={path.mean():.4f} var={path.var():.4f}")
    print(f"  用精确 u_t 积分 ODE: mean={xs_true.mean():.4f} var={xs_true.var():.4f}")
    print(f"  用 CFM 拟合的 v 积分: mean={xs_fit.mean():.4f} var={xs_fit.var():.4f}")


if __name__ == "__main__":
    main()
