"""DPO 的最小实现：对数线性（softmax）策略上的 DPO 损失与梯度、KL 正则目标的闭式最优策略，
以及"奖励模型 + 闭式策略"与"直接优化 DPO"两条路线的对比（纯 NumPy）。

设定：P 个提示 x，每个提示有 K 个候选回答 y，特征 phi(x, y) ∈ R^d。
策略 pi_theta(y | x) = softmax_y(theta · phi(x, y))；参考策略 pi_ref 是另一组参数下的同型策略。
偏好数据是三元组 (x, y_w, y_l)：在提示 x 下 y_w 被偏好于 y_l。
"""
import numpy as np


# ---------------------------------------------------------------- 基本运算
def log_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def log_sigmoid(z):
    """log sigma(z) = -softplus(-z)，对大的 |z| 也稳定。"""
    return -np.logaddexp(0.0, -z)


def sigmoid(z):
    return np.exp(log_sigmoid(z))


def policy_logp(theta, phi):
    """log pi_theta(y | x)，phi 形状 (P, K, d)，返回 (P, K)。"""
    return log_softmax(phi @ theta, axis=1)


# ---------------------------------------------------------------- DPO 损失与梯度
def dpo_margin(theta, logp_ref, phi, pairs, beta):
    """h = beta * [log pi(y_w)/pi_ref(y_w) - log pi(y_l)/pi_ref(y_l)]，即隐式奖励之差。"""
    x, yw, yl = pairs.T
    ratio = policy_logp(theta, phi) - logp_ref              # log pi / pi_ref，形状 (P, K)
    return beta * (ratio[x, yw] - ratio[x, yl])


def dpo_loss(theta, logp_ref, phi, pairs, beta, weights=None):
    """L = -mean log sigma(h)；weights 为每个样本的权重（默认均匀）。"""
    h = dpo_margin(theta, logp_ref, phi, pairs, beta)
    w = np.full(len(h), 1.0 / len(h)) if weights is None else weights
    return float(-(w @ log_sigmoid(h)))


def dpo_grad(theta, logp_ref, phi, pairs, beta, weights=None):
    """grad L = -beta * mean sigma(-h) [grad log pi(y_w) - grad log pi(y_l)]，
    其中对 softmax 策略 grad_theta log pi(y|x) = phi(x,y) - E_{y'~pi}[phi(x,y')]。"""
    x, yw, yl = pairs.T
    h = dpo_margin(theta, logp_ref, phi, pairs, beta)
    w = np.full(len(h), 1.0 / len(h)) if weights is None else weights
    pi = np.exp(policy_logp(theta, phi))                     # (P, K)
    mean_phi = np.einsum("pk,pkd->pd", pi, phi)              # E_pi[phi(x, .)]，(P, d)
    g_w = phi[x, yw] - mean_phi[x]
    g_l = phi[x, yl] - mean_phi[x]
    return -beta * ((w * sigmoid(-h)) @ (g_w - g_l))


def train_dpo(theta0, logp_ref, phi, pairs, beta, steps=3000, lr=None, weights=None):
    """全批量梯度下降（损失对 theta 是凸的，见正文）。lr 缺省取 1/L 的保守估计。"""
    x, yw, yl = pairs.T
    diff = phi[x, yw] - phi[x, yl]
    if lr is None:                                           # Hessian <= beta^2/4 * mean(diff diff^T)
        w = np.full(len(diff), 1.0 / len(diff)) if weights is None else weights
        L = 0.25 * beta ** 2 * np.linalg.eigvalsh((diff * w[:, None]).T @ diff).max()
        lr = 1.0 / L
    theta = np.array(theta0, float)
    for _ in range(steps):
        theta -= lr * dpo_grad(theta, logp_ref, phi, pairs, beta, weights)
    return theta


# ---------------------------------------------------------------- IPO（对照）
def ipo_loss_and_grad(theta, logp_ref, phi, pairs, tau):
    """IPO：mean (h' - 1/(2 tau))^2，h' = log 比值之差（不乘 beta）。返回 (损失, 梯度)。"""
    x, yw, yl = pairs.T
    hp = dpo_margin(theta, logp_ref, phi, pairs, 1.0)
    resid = hp - 1.0 / (2 * tau)
    pi = np.exp(policy_logp(theta, phi))
    mean_phi = np.einsum("pk,pkd->pd", pi, phi)
    dh = (phi[x, yw] - mean_phi[x]) - (phi[x, yl] - mean_phi[x])
    return float(np.mean(resid ** 2)), 2 * (resid @ dh) / len(resid)


# ---------------------------------------------------------------- KL 正则的奖励最大化
def kl_objective(logp, logp_ref, r, beta):
    """J(pi) = E_pi[r] - beta * KL(pi || pi_ref)，逐提示返回，形状 (P,)。"""
    pi = np.exp(logp)
    return (pi * r).sum(axis=1) - beta * (pi * (logp - logp_ref)).sum(axis=1)


def optimal_policy(logp_ref, r, beta):
    """pi*(y|x) = pi_ref(y|x) exp(r(x,y)/beta) / Z(x)，返回 log pi* 与 log Z。"""
    z = logp_ref + r / beta
    logZ = np.logaddexp.reduce(z, axis=1)
    return z - logZ[:, None], logZ


def implicit_reward(logp, logp_ref, beta):
    """DPO 的隐式奖励 beta * log pi / pi_ref（与真实奖励相差一个只依赖 x 的常数）。"""
    return beta * (logp - logp_ref)


# ---------------------------------------------------------------- 偏好数据与奖励模型
def bt_prob(r, x, a, b):
    """Bradley–Terry：P(a ≻ b | x) = sigma(r(x,a) - r(x,b))。"""
    return sigmoid(r[x, a] - r[x, b])


def sample_preferences(r, n_per_prompt, rng):
    """每个提示随机抽取 n 对不同的回答，按 BT 概率决定胜负。返回 (N, 3) 的 (x, y_w, y_l)。"""
    P, K = r.shape
    x = np.repeat(np.arange(P), n_per_prompt)
    a = rng.integers(0, K, size=len(x))
    b = (a + rng.integers(1, K, size=len(x))) % K           # 保证 b != a
    a_wins = rng.random(len(x)) < bt_prob(r, x, a, b)
    return np.stack([x, np.where(a_wins, a, b), np.where(a_wins, b, a)], axis=1)


def aggregate_pairs(pairs):
    """把重复的 (x, y_w, y_l) 合并，返回唯一的三元组及其频率（权重之和为 1）。
    损失只依赖各类三元组出现的频率，合并后每步计算量与样本数无关。"""
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    return uniq, counts / counts.sum()


def fit_reward_model(pairs, P, K, weights=None, iters=50):
    """表格型 BT 奖励模型的极大似然（Newton 法），最小化 -sum_i w_i log sigma(r_w - r_l)。
    每个提示内的奖励只确定到一个加性常数，这里把每个提示内的均值固定为 0。"""
    x, yw, yl = pairs.T
    w = np.full(len(x), 1.0 / len(x)) if weights is None else weights
    r = np.zeros(P * K)
    iw, il = x * K + yw, x * K + yl
    for _ in range(iters):
        s = w * sigmoid(-(r[iw] - r[il]))                    # d(-log sigma(h))/dh = -sigma(-h)
        g = np.zeros(P * K)
        np.add.at(g, iw, -s)
        np.add.at(g, il, s)
        c = w * sigmoid(r[iw] - r[il]) * sigmoid(-(r[iw] - r[il]))
        H = np.zeros((P * K, P * K))
        for u, v, cc in ((iw, iw, c), (il, il, c), (iw, il, -c), (il, iw, -c)):
            np.add.at(H, (u, v), cc)
        r -= np.linalg.pinv(H, rcond=1e-10) @ g             # 奇异方向（每个提示加常数）不影响似然
        r = (r.reshape(P, K) - r.reshape(P, K).mean(axis=1, keepdims=True)).ravel()
    return r.reshape(P, K)


# ---------------------------------------------------------------- 演示
def make_problem(P=3, K=5, seed=0):
    """表格型问题：phi 是 (x, y) 的独热编码，d = P*K，因此策略可以表示任意分布。"""
    rng = np.random.default_rng(seed)
    phi = np.eye(P * K).reshape(P, K, P * K)
    r_true = rng.normal(0.0, 1.0, size=(P, K))
    theta_ref = rng.normal(0.0, 1.0, size=P * K)
    return phi, r_true, theta_ref


def main(beta=0.5, seed=0):
    phi, r_true, theta_ref = make_problem(seed=seed)
    P, K, _ = phi.shape
    logp_ref = policy_logp(theta_ref, phi)
    rng = np.random.default_rng(seed + 1)

    print("β 的作用：KL 正则最优策略 π* 的期望奖励与 KL(π*||π_ref)（对提示取平均）")
    for b in (0.05, 0.2, 0.5, 1.0, 5.0):
        lp, _ = optimal_policy(logp_ref, r_true, b)
        pi = np.exp(lp)
        print(f"  β={b:<5} E[r]={np.mean((pi * r_true).sum(1)):+.4f}  KL={np.mean((pi * (lp - logp_ref)).sum(1)):.4f}")
    print(f"  参考策略 E[r]={np.mean((np.exp(logp_ref) * r_true).sum(1)):+.4f}，"
          f"最优回答的奖励均值 {r_true.max(1).mean():+.4f}")

    lp_star, logZ = optimal_policy(logp_ref, r_true, beta)
    print(f"\nβ = {beta} 时各提示的 β·log Z(x)：" + "、".join(f"{v:+.3f}" for v in beta * logZ)
          + "（真实奖励与隐式奖励之差）")
    # 总体损失的下界：每个提示均匀抽一对不同的回答，标签按 BT 概率给出，下界是标签分布的平均熵
    a, b = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
    pa = sigmoid(r_true[:, a] - r_true[:, b])[:, a != b]                 # (P, K(K-1))
    entropy = -(pa * np.log(pa) + (1 - pa) * np.log(1 - pa)).mean()
    print(f"标签分布的平均熵（DPO 损失在无穷多数据时的最小值）：{entropy:.4f}")
    print("\n有限偏好数据：奖励模型 + 闭式策略  vs  直接 DPO（β = %.1f）" % beta)
    for n in (100, 1000, 10_000, 100_000):
        pairs, w = aggregate_pairs(sample_preferences(r_true, n, rng))
        r_hat = fit_reward_model(pairs, P, K, w)
        lp_rlhf, _ = optimal_policy(logp_ref, r_hat, beta)
        theta = train_dpo(theta_ref.copy(), logp_ref, phi, pairs, beta, steps=3000, weights=w)
        lp_dpo = policy_logp(theta, phi)
        tv = 0.5 * np.abs(np.exp(lp_dpo) - np.exp(lp_star)).sum(1).max()
        same = np.abs(np.exp(lp_dpo) - np.exp(lp_rlhf)).max() < 1e-12
        print(f"  每个提示 {n:>6} 对：max|π_DPO-π_RLHF| < 1e-12：{same}，"
              f"max_x TV(π_DPO, π*) = {tv:.4f}，训练损失 {dpo_loss(theta, logp_ref, phi, pairs, beta, w):.4f}")

    print("\n确定性偏好（同一对比较总是 y_w 胜）：DPO 的间隔无界增长，IPO 收敛到 1/(2τ)")
    pairs = np.array([[0, 1, 2]])
    th_d, th_i, tau = theta_ref.copy(), theta_ref.copy(), 0.5
    for step in range(1, 10_001):
        th_d -= 2.0 * dpo_grad(th_d, logp_ref, phi, pairs, 0.1)
        th_i -= 0.2 * ipo_loss_and_grad(th_i, logp_ref, phi, pairs, tau)[1]
        if step in (10, 100, 1000, 10_000):
            hd = dpo_margin(th_d, logp_ref, phi, pairs, 1.0)[0]
            hi = dpo_margin(th_i, logp_ref, phi, pairs, 1.0)[0]
            print(f"  第 {step:>5} 步：DPO 的 log 比值差 {hd:6.2f}，π(y_l|x) = {np.exp(policy_logp(th_d, phi)[0, 2]):.1e}；"
                  f"IPO 的 log 比值差 {hi:.4f}（目标 {1 / (2 * tau):.1f}）")

if __name__ == "__main__":
    main()
