"""5×5 网格世界上的贝尔曼方程：线性方程组直接求解与不动点迭代（纯 NumPy）。

状态 s = 行 * 列数 + 列；动作 0 上、1 右、2 下、3 左、4 原地不动。转移是确定性的：
撞墙时留在原地并得到 r_boundary；进入（或停留在）禁区得到 r_forbidden；
进入（或停留在）目标得到 r_target；其余为 0。目标不是终止状态，任务是持续性的。
"""
from collections import deque

import numpy as np

ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1), (0, 0))   # 上 右 下 左 不动
ARROWS = "↑→↓←o"


def default_world():
    """本文使用的网格：5 个禁区、目标在第 2 行第 3 列（均从 0 起数），gamma = 0.9。"""
    return GridWorld(5, 5, forbidden=[(1, 1), (1, 2), (2, 2), (3, 1), (4, 3)],
                     target=(2, 3), gamma=0.9)


class GridWorld:
    def __init__(self, n_rows, n_cols, forbidden, target, gamma=0.9,
                 r_boundary=-1.0, r_forbidden=-1.0, r_target=1.0, r_other=0.0):
        self.n_rows, self.n_cols, self.gamma = n_rows, n_cols, gamma
        self.forbidden = {self.index(*c) for c in forbidden}
        self.target = self.index(*target)
        self.n_states, self.n_actions = n_rows * n_cols, len(ACTIONS)
        # 确定性模型：next_state[s, a] 与 reward[s, a]
        self.next_state = np.zeros((self.n_states, self.n_actions), dtype=int)
        self.reward = np.zeros((self.n_states, self.n_actions))
        for s in range(self.n_states):
            i, j = divmod(s, n_cols)
            for a, (di, dj) in enumerate(ACTIONS):
                ni, nj = i + di, j + dj
                if not (0 <= ni < n_rows and 0 <= nj < n_cols):
                    self.next_state[s, a], self.reward[s, a] = s, r_boundary
                    continue
                s2 = self.index(ni, nj)
                self.next_state[s, a] = s2
                self.reward[s, a] = (r_target if s2 == self.target else
                                     r_forbidden if s2 in self.forbidden else r_other)

    def index(self, i, j):
        return i * self.n_cols + j

    def transition_tensor(self):
        """P[s, a, s'] = p(s' | s, a)，确定性模型下每个 (s, a) 只有一个 1。"""
        P = np.zeros((self.n_states, self.n_actions, self.n_states))
        P[np.arange(self.n_states)[:, None], np.arange(self.n_actions), self.next_state] = 1.0
        return P

    def policy_matrices(self, pi):
        """策略 pi[s, a] = pi(a|s) 诱导的 r_pi（长度 n）与 P_pi（n×n）。"""
        r_pi = np.sum(pi * self.reward, axis=1)
        P_pi = np.einsum("sa,sat->st", pi, self.transition_tensor())
        return r_pi, P_pi

    def bfs_distance(self):
        """只走非禁区格子时到目标的最少步数（禁区格子记为 inf）。"""
        dist = np.full(self.n_states, np.inf)
        dist[self.target] = 0
        queue = deque([self.target])
        while queue:
            s = queue.popleft()
            for a in range(4):                        # 网格上的移动是对称的，反向走一步即可
                s2 = self.next_state[s, a]
                if s2 not in self.forbidden and dist[s2] == np.inf:
                    dist[s2] = dist[s] + 1
                    queue.append(s2)
        return dist

    def render(self, values=None, pi=None):
        rows = []
        for i in range(self.n_rows):
            cells = []
            for j in range(self.n_cols):
                s = self.index(i, j)
                mark = "T" if s == self.target else "X" if s in self.forbidden else "."
                if pi is not None:
                    mark += ARROWS[int(np.argmax(pi[s]))]
                if values is not None:
                    mark += f"{values[s]:7.3f}"
                cells.append(f"{mark:>9}")
            rows.append(" ".join(cells))
        return "\n".join(rows)


# ------------------------------------------------------------------ 几个策略
def deterministic_policy(world, actions):
    pi = np.zeros((world.n_states, world.n_actions))
    pi[np.arange(world.n_states), actions] = 1.0
    return pi


def shortest_path_policy(world):
    """沿不经过禁区的最短路走向目标，到达后原地不动；身处禁区时走向最近的安全格子。"""
    dist = world.bfs_distance()
    actions = np.full(world.n_states, 4)
    for s in range(world.n_states):
        if s == world.target:
            continue
        # 四个移动里选落点距离最小者（撞墙留在原地，距离不变，不会被选中）
        actions[s] = min(range(4), key=lambda a: dist[world.next_state[s, a]])
    return deterministic_policy(world, actions)


def uniform_policy(world):
    return np.full((world.n_states, world.n_actions), 1.0 / world.n_actions)


# ------------------------------------------------------------------ 策略评估
def solve_bellman_exact(world, pi):
    """v_pi = (I - gamma P_pi)^{-1} r_pi，用线性方程组求解（不显式求逆）。"""
    r_pi, P_pi = world.policy_matrices(pi)
    return np.linalg.solve(np.eye(world.n_states) - world.gamma * P_pi, r_pi)


def solve_bellman_iterative(world, pi, tol=1e-12, max_iter=10_000, v0=None):
    """不动点迭代 v_{k+1} = r_pi + gamma P_pi v_k。返回最终的 v 和每一轮的 v 组成的列表。"""
    r_pi, P_pi = world.policy_matrices(pi)
    v = np.zeros(world.n_states) if v0 is None else np.asarray(v0, float)
    history = [v]
    for _ in range(max_iter):
        v_new = r_pi + world.gamma * P_pi @ v
        history.append(v_new)
        if np.max(np.abs(v_new - v)) < tol:
            return v_new, history
        v = v_new
    raise RuntimeError("iteration did not converge")


def action_values(world, v):
    """q(s, a) = r(s, a) + gamma * v(s')，确定性模型下不需要对 s' 求和。"""
    return world.reward + world.gamma * v[world.next_state]


def rollout_return(world, actions, s0, horizon):
    """从 s0 出发按确定性动作表走 horizon 步，返回折扣回报（截断）。"""
    g, discount, s = 0.0, 1.0, s0
    for _ in range(horizon):
        a = actions[s]
        g += discount * world.reward[s, a]
        discount *= world.gamma
        s = world.next_state[s, a]
    return g


if __name__ == "__main__":
    np.set_printoptions(precision=4, suppress=True)
    world = default_world()
    g = world.gamma
    for name, pi in [("最短安全路径策略", shortest_path_policy(world)),
                     ("均匀随机策略", uniform_policy(world))]:
        v_exact = solve_bellman_exact(world, pi)
        v_iter, hist = solve_bellman_iterative(world, pi)
        err = [np.max(np.abs(h - v_exact)) for h in hist]
        ratios = [b / a for a, b in zip(err[:-1], err[1:]) if a > 1e-6]   # 太小的误差受舍入影响
        print(f"== {name}")
        print(world.render(v_exact, pi if name.startswith("最短") else None))
        print(f"迭代轮数 {len(hist) - 1}，|v_iter - v_exact|_inf = {np.max(np.abs(v_iter - v_exact)):.1e}，"
              f"误差比最大值 {max(ratios):.6f}（gamma = {g}）")
        print("从 v_0 = 0 出发，误差 |v_k - v_pi|_inf 的前 6 项：" + " ".join(f"{e:.4f}" for e in err[:6])
              + "；前 6 个误差比：" + " ".join(f"{r:.4f}" for r in ratios[:6]))
        q = action_values(world, v_exact)
        print("起点 (0,0) 的 q(s, a)，a = 上 右 下 左 不动：", q[0])
    r_pi, P_pi = world.policy_matrices(uniform_policy(world))
    M = np.linalg.inv(np.eye(world.n_states) - g * P_pi)
    print(f"均匀策略：(I - gamma P_pi)^(-1) 最小元素 {M.min():.4f}，行和 {M.sum(1).min():.6f}～{M.sum(1).max():.6f}"
          f"（1/(1-gamma) = {1 / (1 - g):.1f}）")
