"""本文各图：全部由 mc_grid.py 中的采样、估计、控制与对照函数计算（随机数用固定种子）。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Rectangle

from mc_grid import (FORBIDDEN_S, GAMMA, MOVES, N_COLS, N_ROWS, N_STATES, NEXT, REWARD, TARGET_S,
                     epsilon_greedy, epsilon_soft_policy_iteration, exact_values, greedy,
                     mc_epsilon_greedy, mc_returns_from_every_state, rollout_batch, running_mean,
                     value_iteration)

# 黑色箭头描白边（暗色模式下两者互换），在 viridis 的深色和浅色格子上都看得清
HALO = [patheffects.withStroke(linewidth=3.5, foreground="white")]


def _evaluated_policy():
    """正文评估的策略：最优策略的 0.2-greedy 版本，及其真值。"""
    v_opt = value_iteration()
    pi = epsilon_greedy(REWARD + GAMMA * v_opt[NEXT], 0.2)
    return pi, exact_values(pi)[0]


def _draw_grid(ax, values, vmin, vmax):
    im = ax.imshow(values.reshape(N_ROWS, N_COLS), cmap="viridis", vmin=vmin, vmax=vmax)
    for s in range(N_STATES):
        i, j = divmod(s, N_COLS)
        if s in FORBIDDEN_S or s == TARGET_S:
            ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, linewidth=2.2,
                                   edgecolor="C3" if s in FORBIDDEN_S else "k"))
    ax.set_xticks(range(N_COLS))
    ax.set_yticks(range(N_ROWS))
    ax.tick_params(length=0)
    return im


def _draw_actions(ax, actions, cells, color="k", size=0.3, shift=0.0):
    """四个方向画箭头，原地不动画圆点；shift 把箭头横向或纵向错开（同一格画两个动作时）。"""
    for s in cells:
        i, j = divmod(s, N_COLS)
        di, dj = MOVES[actions[s]]
        if di == 0 and dj == 0:
            ax.plot(j, i, "o", color=color, markersize=6, path_effects=HALO)
            continue
        i, j = i + abs(dj) * shift, j + abs(di) * shift
        ax.annotate("", xy=(j + dj * size, i + di * size), xytext=(j - dj * size, i - di * size),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.8, mutation_scale=12,
                                    path_effects=HALO))


def plot_mean_estimation():
    """左：从左上角出发的回报的增量均值（三次独立重复）与 v ± 2σ/√n；
    右：25 个状态的均方根误差随每状态回合数 n 的变化（对数坐标）与 sqrt(mean σ_s^2 / n)。"""
    pi, v_true = _evaluated_policy()
    length, n_max = 100, 2000
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.2))

    rng = np.random.default_rng(0)
    n = np.arange(1, n_max + 1)
    runs = [rollout_batch(pi, np.zeros(n_max, dtype=int), length, rng)[2][:, 0] for _ in range(3)]
    sd = np.std(np.concatenate(runs), ddof=1)
    band = 2 * sd / np.sqrt(n)
    ax.fill_between(n, v_true[0] - band, v_true[0] + band, color="C7", alpha=0.25, lw=0,
                    label=r"$v_\pi\pm2\hat\sigma/\sqrt{n}$")
    for g, color in zip(runs, ("C0", "C1", "C2")):
        ax.plot(n, running_mean(g), color=color, lw=1.3)
    ax.axhline(v_true[0], color="k", lw=1, ls="--", label=r"真值 $v_\pi$")
    ax.set_xscale("log")
    ax.set_ylim(v_true[0] - 1.5, v_true[0] + 1.5)
    ax.set_xlabel("回合数 $n$")
    ax.set_ylabel("左上角的估计")
    ax.legend(loc="upper right")

    sizes = np.array([10, 20, 50, 100, 200, 500, 1000])
    rmse, pred = [], []
    for size in sizes:
        G = mc_returns_from_every_state(pi, size, length, rng)
        rmse.append(np.sqrt(np.mean((G.mean(1) - v_true) ** 2)))
        pred.append(np.sqrt(np.mean(G.var(1, ddof=1) / size)))
    ax_r.loglog(sizes, rmse, "o-", color="C0", lw=1.5, label="实测")
    ax_r.loglog(sizes, pred, color="k", lw=1, ls="--", label=r"预测 $\sqrt{\frac{1}{25}\sum_s\hat\sigma_s^2/n}$")
    ax_r.set_yticks([0.03, 0.1, 0.3], ["0.03", "0.1", "0.3"])
    ax_r.minorticks_off()
    ax_r.set_xlabel("每个状态的回合数 $n$")
    ax_r.set_ylabel("均方根误差")
    ax_r.legend(loc="upper right")
    return fig


def plot_learned_policy():
    """左：epsilon-greedy MC 控制（eps = 0.2，与正文相同的参数和种子）学到的 max_a q(s, a) 与贪心动作，
    与最优策略不同的格子另画出最优动作（橙色）；右：最优值 v* 与最优策略（值迭代）。"""
    q, _ = mc_epsilon_greedy(0.2, 6, 30_000, np.random.default_rng(1))
    v_opt = value_iteration()
    learned = np.argmax(q, axis=1)
    best = np.argmax(greedy(REWARD + GAMMA * v_opt[NEXT]), axis=1)
    differ = [s for s in range(N_STATES) if learned[s] != best[s]]
    same = [s for s in range(N_STATES) if s not in differ]
    vmin, vmax = min(q.max(1).min(), v_opt.min()), max(q.max(1).max(), v_opt.max())
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.3))
    _draw_grid(axes[0], q.max(axis=1), vmin, vmax)
    _draw_actions(axes[0], learned, same)
    _draw_actions(axes[0], learned, differ, size=0.25, shift=-0.2)
    _draw_actions(axes[0], best, differ, color="C1", size=0.25, shift=0.2)
    axes[0].set_xlabel(r"MC 学到的 $\max_a\hat q(s,a)$")
    im = _draw_grid(axes[1], v_opt, vmin, vmax)
    _draw_actions(axes[1], best, range(N_STATES))
    axes[1].set_xlabel(r"最优值 $v^*(s)$")
    fig.colorbar(im, ax=axes, shrink=0.85)
    return fig


def plot_epsilon_effect():
    """探索与利用。左：用精确的 q 做 eps-greedy 改进直到不动，得到 eps-soft 策略中的最优者，画出它在
    左上角的值与 25 个状态的平均值，虚线是 v*（eps = 0 即普通的策略迭代）。右：按最优策略的
    eps-greedy 版本从随机起点采 30000 条回合，前 3 步里每个 (s, a) 被访问的次数（最少的与中位数），
    也就是 mc_epsilon_greedy 每轮用来估计 q 的样本数。"""
    v_opt = value_iteration()
    q_opt = REWARD + GAMMA * v_opt[NEXT]
    eps_grid = np.round(np.arange(0.0, 0.61, 0.05), 2)
    corner, mean = [], []
    for eps in eps_grid:
        v, _ = exact_values(epsilon_soft_policy_iteration(eps)[0])
        corner.append(v[0])
        mean.append(v.mean())
    rng = np.random.default_rng(0)
    fewest, median = [], []
    for eps in eps_grid[1:]:
        S, A, _ = rollout_batch(epsilon_greedy(q_opt, eps), rng.integers(N_STATES, size=30_000), 3, rng)
        count = np.zeros_like(q_opt)
        np.add.at(count, (S.ravel(), A.ravel()), 1.0)
        fewest.append(count.min())
        median.append(np.median(count))

    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    ax.plot(eps_grid, mean, "o-", color="C0", lw=1.8, ms=4.5, label="平均")
    ax.plot(eps_grid, corner, "s-", color="C1", lw=1.8, ms=4.5, label="左上角")
    ax.axhline(v_opt.mean(), color="C0", lw=1, ls="--")
    ax.axhline(v_opt[0], color="C1", lw=1, ls="--")
    ax.set_xlabel(r"探索率 $\varepsilon$")
    ax.set_ylabel(r"$\varepsilon$-soft 最优策略的值")
    ax.legend(loc="lower left")
    ax_r.semilogy(eps_grid[1:], median, "o-", color="C2", lw=1.8, ms=4.5, label="中位数")
    ax_r.semilogy(eps_grid[1:], fewest, "s-", color="C4", lw=1.8, ms=4.5, label="最少")
    ax_r.set_xlabel(r"探索率 $\varepsilon$")
    ax_r.set_ylabel("$(s,a)$ 的样本数")
    ax_r.legend(loc="lower right")
    return fig
