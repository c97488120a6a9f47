"""网格世界上的蒙特卡洛（MC）强化学习：策略评估、MC Basic 与 epsilon-greedy MC 控制（纯 NumPy）。

网格与上一篇相同：5×5，禁区 (1,1) (1,2) (2,2) (3,1) (4,3)，目标 (2,3)，gamma = 0.9；
动作 0 上、1 右、2 下、3 左、4 不动；撞墙 -1（留在原地）、进入/停留禁区 -1、进入/停留目标 +1。
MC 算法只通过 step（采样）与环境交互；exact_* 与 value_iteration 用到模型，只作为对照答案。
"""
import numpy as np

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1), (0, 0))
N_ROWS = N_COLS = 5
FORBIDDEN = {(1, 1), (1, 2), (2, 2), (3, 1), (4, 3)}
TARGET = (2, 3)
GAMMA = 0.9


def build_model(r_forbidden=-1.0):
    """返回确定性模型 next_state[s, a]、reward[s, a]（s = 行 * 5 + 列）。"""
    n = N_ROWS * N_COLS
    nxt, rew = np.zeros((n, 5), dtype=int), np.zeros((n, 5))
    for s in range(n):
        i, j = divmod(s, N_COLS)
        for a, (di, dj) in enumerate(MOVES):
            ni, nj = i + di, j + dj
            if not (0 <= ni < N_ROWS and 0 <= nj < N_COLS):
                nxt[s, a], rew[s, a] = s, -1.0
            else:
                nxt[s, a] = ni * N_COLS + nj
                rew[s, a] = (1.0 if (ni, nj) == TARGET else
                             r_forbidden if (ni, nj) in FORBIDDEN else 0.0)
    return nxt, rew


NEXT, REWARD = build_model()
N_STATES, N_ACTIONS = REWARD.shape
TARGET_S = TARGET[0] * N_COLS + TARGET[1]
FORBIDDEN_S = {i * N_COLS + j for i, j in FORBIDDEN}


# ------------------------------------------------------------------ 对照答案（用到模型）
def exact_values(pi, gamma=GAMMA, nxt=NEXT, rew=REWARD):
    """解贝尔曼方程 (I - gamma P_pi) v = r_pi，返回 v_pi 与 q_pi。"""
    n = len(pi)
    P = np.zeros((n, n))
    np.add.at(P, (np.repeat(np.arange(n), N_ACTIONS), nxt.ravel()), pi.ravel())
    v = np.linalg.solve(np.eye(n) - gamma * P, np.sum(pi * rew, axis=1))
    return v, rew + gamma * v[nxt]


def truncated_values(pi, length, gamma=GAMMA):
    """只累计前 length 步奖励时的期望回报 sum_{t<length} gamma^t P_pi^t r_pi。"""
    v = np.zeros(N_STATES)
    for _ in range(length):                        # v_{k+1} = r_pi + gamma P_pi v_k，从 0 开始迭代 length 次
        v = np.sum(pi * (REWARD + gamma * v[NEXT]), axis=1)
    return v


def value_iteration(gamma=GAMMA, nxt=NEXT, rew=REWARD, tol=1e-12):
    v = np.zeros(N_STATES)
    while True:
        v_new = np.max(rew + gamma * v[nxt], axis=1)
        if np.max(np.abs(v_new - v)) < tol:
            return v_new
        v = v_new


# ------------------------------------------------------------------ 策略
def greedy(q):
    """确定性贪心策略（并列时取编号最小的动作）。"""
    pi = np.zeros_like(q)
    pi[np.arange(len(q)), np.argmax(q, axis=1)] = 1.0
    return pi


def epsilon_greedy(q, eps):
    """pi(a|s) = 1 - eps + eps/|A|（贪心动作），eps/|A|（其余动作）。"""
    return (1 - eps) * greedy(q) + eps / q.shape[1]


# ------------------------------------------------------------------ 采样
def sample_episode(pi, s0, length, rng, a0=None):
    """单条回合：从 s0 出发（若给定 a0，第一步强制执行 a0）按 pi 采样 length 步，返回 states, actions, rewards。"""
    cum = np.cumsum(pi, axis=1)
    u = rng.random(length)
    states, actions = np.empty(length, dtype=int), np.empty(length, dtype=int)
    s = s0
    for t in range(length):
        if t == 0 and a0 is not None:
            a = a0
        else:
            a = min(int(np.searchsorted(cum[s], u[t], side="right")), N_ACTIONS - 1)
        states[t], actions[t] = s, a
        s = NEXT[s, a]
    return states, actions, REWARD[states, actions]


def rollout_batch(pi, s0, length, rng, gamma=GAMMA):
    """向量化：从数组 s0 中的每个起点各采一条长 length 的回合。
    返回 states、actions、returns，形状都是 (len(s0), length)，returns[:, t] 为从 t 时刻起的折扣回报。"""
    cum = np.cumsum(pi, axis=1)
    s = np.asarray(s0, dtype=int).copy()
    S = np.empty((len(s), length), dtype=int)
    A = np.empty_like(S)
    for t in range(length):
        u = rng.random(len(s))
        a = np.minimum((u[:, None] >= cum[s]).sum(axis=1), N_ACTIONS - 1)
        S[:, t], A[:, t] = s, a
        s = NEXT[s, a]
    R = REWARD[S, A]
    G = np.empty_like(R)
    g = np.zeros(len(s))
    for t in range(length - 1, -1, -1):              # g_t = r_{t+1} + gamma * g_{t+1}
        g = R[:, t] + gamma * g
        G[:, t] = g
    return S, A, G


def discounted_returns(rewards, gamma=GAMMA):
    """单条回合每个时刻的回报，从后往前一次算完。"""
    g, out = 0.0, np.empty(len(rewards))
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g
        out[t] = g
    return out


def running_mean(samples):
    """增量均值 m_k = m_{k-1} + (x_k - m_{k-1}) / k，返回每一步的 m_k。"""
    m, out = 0.0, np.empty(len(samples))
    for k, x in enumerate(samples, start=1):
        m += (x - m) / k
        out[k - 1] = m
    return out


# ------------------------------------------------------------------ MC 策略评估
def mc_returns_from_every_state(pi, n_per_state, length, rng, gamma=GAMMA):
    """从每个状态各出发 n_per_state 条长 length 的回合，只取起点的回报，返回形状 (n_states, n_per_state)。
    这些样本独立同分布，均值的标准误就是 std / sqrt(n)。"""
    s0 = np.repeat(np.arange(N_STATES), n_per_state)
    _, _, G = rollout_batch(pi, s0, length, rng, gamma)
    return G[:, 0].reshape(N_STATES, n_per_state)


def mc_evaluate(pi, n_episodes, rng, first_visit=True, use_steps=50, tail=100, gamma=GAMMA):
    """起点均匀随机的 MC 策略评估（逐条回合处理）。每条回合长 use_steps + tail，只统计前 use_steps 步
    里的访问，保证每个用到的回报至少累计了 tail 步（截断偏差 <= gamma^tail / (1 - gamma)）。
    返回估计 v、总访问次数、访问过该状态的回合数，以及把回合当作簇计算的标准误
    （every-visit 时同一条回合里的回报相关，簇标准误仍然成立）。"""
    S, N, S2, N2, SN, E = (np.zeros(N_STATES) for _ in range(6))
    for _ in range(n_episodes):
        states, _, rewards = sample_episode(pi, int(rng.integers(N_STATES)), use_steps + tail, rng)
        g = discounted_returns(rewards, gamma)[:use_steps]
        states = states[:use_steps]
        if first_visit:
            _, first = np.unique(states, return_index=True)
            states, g = states[first], g[first]
        s_sum, n_cnt = np.zeros(N_STATES), np.zeros(N_STATES)
        np.add.at(s_sum, states, g)
        np.add.at(n_cnt, states, 1.0)
        S += s_sum
        N += n_cnt
        S2 += s_sum ** 2
        N2 += n_cnt ** 2
        SN += s_sum * n_cnt
        E += n_cnt > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        v = S / N
        se = np.sqrt(np.maximum(S2 - 2 * v * SN + v ** 2 * N2, 0.0)) / N   # 比率估计的簇稳健标准误
    return v, N, E, se


# ------------------------------------------------------------------ MC Basic：用 MC 估计 q 的策略迭代
def mc_basic(length, n_iter=20, n_episodes=1, rng=None, pi0=None):
    """每轮对每个 (s, a) 从 (s, a) 出发采 n_episodes 条长 length 的回合，用增量均值估计 q，再取贪心。
    环境与策略都确定时 1 条回合就够了。策略不再变化时停止，返回最终策略与每轮的 q 估计。"""
    rng = rng or np.random.default_rng(0)
    pi = greedy(np.zeros((N_STATES, N_ACTIONS))) if pi0 is None else pi0
    history = []
    for _ in range(n_iter):
        q = np.zeros((N_STATES, N_ACTIONS))
        for s in range(N_STATES):
            for a in range(N_ACTIONS):
                for k in range(1, n_episodes + 1):
                    g = discounted_returns(sample_episode(pi, s, length, rng, a0=a)[2])[0]
                    q[s, a] += (g - q[s, a]) / k
        history.append(q)
        new_pi = greedy(q)
        if np.array_equal(new_pi, pi):
            break
        pi = new_pi
    return pi, history


# ------------------------------------------------------------------ epsilon-greedy MC 控制
def mc_epsilon_greedy(eps, n_iter, n_episodes, rng, use_steps=3, tail=40, gamma=GAMMA):
    """epsilon-greedy 策略上的 MC 控制（批量版本）。每轮：按当前 eps-greedy 策略从均匀随机的起点
    采 n_episodes 条回合（不要求起始动作随机），every-visit 地用前 use_steps 步的回报估计 q，
    本轮没访问到的 (s, a) 保留旧值；然后把策略换成新 q 的 eps-greedy 策略。返回 q 与最后一轮的访问次数。"""
    q = np.zeros((N_STATES, N_ACTIONS))
    for _ in range(n_iter):
        S, A, G = rollout_batch(epsilon_greedy(q, eps), rng.integers(N_STATES, size=n_episodes),
                                use_steps + tail, rng, gamma)
        idx = (S[:, :use_steps].ravel(), A[:, :use_steps].ravel())
        total, count = np.zeros_like(q), np.zeros_like(q)
        np.add.at(total, idx, G[:, :use_steps].ravel())
        np.add.at(count, idx, 1.0)
        seen = count > 0
        q[seen] = total[seen] / count[seen]
    return q, count


def epsilon_soft_policy_iteration(eps, n_iter=100):
    """用精确的 q（要用模型）从均匀策略出发反复做 eps-greedy 改进，直到策略不再变化。
    并列时 greedy 取编号最小的动作，这是一个只依赖 q 的确定规则，保证过程停止。返回策略与改进轮数。"""
    pi = np.full((N_STATES, N_ACTIONS), 1.0 / N_ACTIONS)
    for it in range(n_iter):
        new_pi = epsilon_greedy(exact_values(pi)[1], eps)
        if np.array_equal(new_pi, pi):
            return pi, it
        pi = new_pi
    raise RuntimeError("eps-greedy policy iteration did not stop")


def steps_to_target(pi, s0, max_steps=30):
    """按确定性策略（取 argmax）从 s0 出发，返回到达目标所需的步数；到不了返回 None。"""
    s, a_of = s0, np.argmax(pi, axis=1)
    for t in range(max_steps + 1):
        if s == TARGET_S:
            return t
        s = NEXT[s, a_of[s]]
    return None


def show_policy(pi):
    return "\n".join(" ".join("↑→↓←o"[a] for a in row) for row in np.argmax(pi, 1).reshape(N_ROWS, N_COLS))


if __name__ == "__main__":
    np.set_printoptions(precision=3, suppress=True, linewidth=120)
    rng = np.random.default_rng(0)
    v_opt = value_iteration()
    q_opt = REWARD + GAMMA * v_opt[NEXT]
    pi_eval = epsilon_greedy(q_opt, 0.2)              # 被评估的策略：最优策略的 0.2-greedy 版本
    v_true, _ = exact_values(pi_eval)
    print("被评估策略的真实 v（线性求解）:\n", v_true.reshape(5, 5))
    for n in (20, 200, 2000):
        G = mc_returns_from_every_state(pi_eval, n, 100, rng)
        err = G.mean(1) - v_true
        pred = np.sqrt(np.mean(G.var(1, ddof=1) / n))
        print(f"每个状态 {n:4d} 条回合：最大误差 {np.abs(err).max():.4f}，均方根误差 {np.sqrt(np.mean(err ** 2)):.4f}"
              f"（理论 {pred:.4f}），回报标准差中位数 {np.median(G.std(1, ddof=1)):.3f}")
    G5 = mc_returns_from_every_state(pi_eval, 2000, 5, rng)
    print(f"回合只长 5 步：与真值的最大差 {np.abs(G5.mean(1) - v_true).max():.3f}，"
          f"与截断真值的最大差 {np.abs(G5.mean(1) - truncated_values(pi_eval, 5)).max():.4f}")
    for fv in (True, False):
        v, cnt, ep, se = mc_evaluate(pi_eval, 400, rng, first_visit=fv)
        name = "first-visit" if fv else "every-visit"
        print(f"{name}: 400 条回合，每状态平均样本数 {cnt.mean():.0f}，最大误差 {np.max(np.abs(v - v_true)):.4f}，"
              f"平均簇标准误 {np.mean(se):.4f}，最大 |误差|/标准误 {np.max(np.abs(v - v_true) / se):.2f}")
    for L in (1, 2, 3, 4, 5, 6, 10, 30):
        pi_b, hist = mc_basic(L)
        reach = sum(steps_to_target(pi_b, s) is not None for s in range(N_STATES))
        v_b, _ = exact_values(pi_b)
        print(f"MC Basic，回合长 {L:2d}：{len(hist):2d} 轮，能到达目标的起点 {reach:2d}/25，"
              f"max(v* - v_pi) = {max(np.max(v_opt - v_b), 0):.4f}")
    q, count = mc_epsilon_greedy(0.2, 6, 30_000, np.random.default_rng(1))
    pi_g = greedy(q)
    v_g, _ = exact_values(pi_g)
    print("eps-greedy MC 控制（eps = 0.2，6 轮 × 30000 条回合）学到的贪心策略：")
    print(show_policy(pi_g))
    print("各起点到达目标的步数：", [steps_to_target(pi_g, s) for s in range(N_STATES)])
    print(f"max(v* - v_greedy) = {max(np.max(v_opt - v_g), 0):.4f}，最后一轮访问最少的 (s, a) 次数 {count.min():.0f}")
    print("最优策略：")
    print(show_policy(greedy(q_opt)))

    print(f"最优策略的 0.2-greedy 版本：min_s (v*(s) - v(s)) = {np.min(v_opt - v_true):.4f}")
    for eps in (0.1, 0.2, 0.3, 0.5):                   # eps-soft 策略中的最优者（用模型精确计算）
        pi_e, n_imp = epsilon_soft_policy_iteration(eps)
        v_e, _ = exact_values(pi_e)
        v_eg, _ = exact_values(greedy(pi_e))
        print(f"eps = {eps}：{n_imp} 轮后不再变化，左上角 v = {v_e[0]:.3f}，其贪心部分 max(v* - v) = "
              f"{max(np.max(v_opt - v_eg), 0):.4f}")

    rng = np.random.default_rng(2)                     # 回报的方差：固定评估 pi_eval，每个状态 400 个回合
    for L in (1, 5, 20, 80):
        G = mc_returns_from_every_state(pi_eval, 400, L, rng)
        print(f"gamma = 0.9，回合长 {L:2d}：回报标准差中位数 {np.median(G.std(1, ddof=1)):.2f}，"
              f"截断偏差 max|v^(L) - v| = {np.max(np.abs(truncated_values(pi_eval, L) - v_true)):.3f}")
    for gamma in (0.5, 0.9, 0.99):
        L = int(np.ceil(np.log(1e-3 * (1 - gamma)) / np.log(gamma)))   # gamma^L / (1 - gamma) <= 1e-3
        G = mc_returns_from_every_state(pi_eval, 400, L, rng, gamma)
        print(f"gamma = {gamma}，回合长 {L:4d}（截断偏差 <= 1e-3）：回报标准差中位数 {np.median(G.std(1, ddof=1)):.2f}")
