"""本文各图：全部由 dpo_toy.py 中的表格型问题、闭式最优策略、DPO/IPO 的损失与梯度计算。"""
import matplotlib.pyplot as plt
import numpy as np

from dpo_toy import (aggregate_pairs, bt_prob, dpo_grad, dpo_margin, fit_reward_model,
                     ipo_loss_and_grad, log_sigmoid, make_problem, optimal_policy, policy_logp,
                     sample_preferences, train_dpo)


def plot_beta_tradeoff():
    """左：提示 0 上参考策略与不同 beta 下最优策略 pi* 的概率（回答按真实奖励从低到高排列）；
    右：beta 从 20 扫到 0.02 时 pi* 的期望奖励与 KL(pi* || pi_ref)（对提示取平均）。"""
    phi, r, theta_ref = make_problem()
    logp_ref = policy_logp(theta_ref, phi)
    order = np.argsort(r[0])
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.3), gridspec_kw={"width_ratios": [1.15, 1]})
    bars = [(r"$\pi_{\mathrm{ref}}$", np.exp(logp_ref[0]), "C7")]
    for beta, color in ((5.0, "C0"), (0.5, "C2"), (0.05, "C3")):
        bars.append((rf"$\beta={beta}$", np.exp(optimal_policy(logp_ref, r, beta)[0][0]), color))
    width = 0.2
    for n, (label, prob, color) in enumerate(bars):
        ax.bar(np.arange(5) + (n - 1.5) * width, prob[order], width, color=color, label=label)
    ax.set_xticks(range(5), [f"{v:+.2f}" for v in r[0, order]])
    ax.set_xlabel("回答的真实奖励 $r^*(x,y)$")
    ax.set_ylabel(r"$\pi(y\mid x)$")
    ax.legend(loc="upper left")

    betas = np.logspace(np.log10(20), np.log10(0.02), 60)
    reward, kl = [], []
    for beta in betas:
        lp, _ = optimal_policy(logp_ref, r, beta)
        pi = np.exp(lp)
        reward.append(np.mean((pi * r).sum(1)))
        kl.append(np.mean((pi * (lp - logp_ref)).sum(1)))
    ax_r.plot(kl, reward, color="C0", lw=2)
    for beta in (5.0, 1.0, 0.5, 0.2, 0.05):
        lp, _ = optimal_policy(logp_ref, r, beta)
        pi = np.exp(lp)
        k, e = np.mean((pi * (lp - logp_ref)).sum(1)), np.mean((pi * r).sum(1))
        ax_r.plot(k, e, "o", color="C0")
        left = beta < 0.1                           # 最右边的点把标注放在左上，免得超出坐标轴
        ax_r.annotate(rf"$\beta={beta}$", (k, e), xytext=(-6, 6) if left else (6, -14),
                      textcoords="offset points", ha="right" if left else "left")
    ax_r.axhline(r.max(1).mean(), color="k", lw=1, ls="--")
    ax_r.text(0.0, r.max(1).mean() + 0.03, "总选最好回答", ha="left", va="bottom")
    ax_r.set_xlabel(r"$\mathrm{KL}(\pi^*\,\|\,\pi_{\mathrm{ref}})$")
    ax_r.set_ylabel(r"期望奖励 $\mathbb{E}_{\pi^*}[r^*]$")
    ax_r.set_ylim(top=r.max(1).mean() + 0.25)
    return fig


def _population_pairs(r):
    """“无穷多数据”：所有有序对 (x, a, b)（a != b），权重为 BT 模型下 a 胜 b 的概率，归一化。"""
    P, K = r.shape
    x, a, b = (m.ravel() for m in np.meshgrid(np.arange(P), np.arange(K), np.arange(K), indexing="ij"))
    keep = a != b
    pairs = np.stack([x[keep], a[keep], b[keep]], 1)
    w = bt_prob(r, *pairs.T)
    return pairs, w / w.sum()


def plot_dpo_training(beta=0.5):
    """左：无穷多数据时，DPO 梯度下降前 12 步中提示 0 的五个回答的概率，从 pi_ref 出发、收敛到 pi*（虚线）；
    右：有限偏好数据时，DPO 与“奖励模型 + 闭式策略”两条路线离 pi* 的全变差距离（各提示中的最大值）。"""
    phi, r, theta_ref = make_problem()
    P, K, _ = phi.shape
    logp_ref = policy_logp(theta_ref, phi)
    lp_star, _ = optimal_policy(logp_ref, r, beta)
    order = np.argsort(r[0])
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.3))

    pairs, w = _population_pairs(r)
    theta, probs = theta_ref.copy(), [np.exp(logp_ref[0])]
    steps = np.arange(13)
    for _ in steps[1:]:                           # train_dpo 的默认步长，一次走一步
        theta = train_dpo(theta, logp_ref, phi, pairs, beta, steps=1, weights=w)
        probs.append(np.exp(policy_logp(theta, phi)[0]))
    probs = np.array(probs)
    for n, y in enumerate(order):
        color = f"C{n}"
        ax.plot(steps, probs[:, y], "o-", color=color, lw=2, ms=4, label=f"{r[0, y]:+.2f}")
        ax.axhline(np.exp(lp_star[0, y]), color=color, lw=1, ls="--")
    ax.set_ylim(0, 0.68)
    ax.set_xticks(steps[::2])
    ax.set_xlabel("梯度下降步数")
    ax.set_ylabel(r"$\pi_\theta(y\mid x)$")
    ax.legend(title="$r^*(x,y)$", loc="upper right", ncol=3, columnspacing=0.8, handlelength=1.2)

    rng = np.random.default_rng(1)
    sizes = np.array([100, 300, 1000, 3000, 10_000, 30_000, 100_000])
    tv_dpo, tv_rlhf = [], []
    for n in sizes:
        pairs_n, w_n = aggregate_pairs(sample_preferences(r, n, rng))
        lp_rlhf, _ = optimal_policy(logp_ref, fit_reward_model(pairs_n, P, K, w_n), beta)
        # 200 步与正文的 3000 步给出的策略之差已在 1e-16 量级，画图用 200 步
        lp_dpo = policy_logp(train_dpo(theta_ref.copy(), logp_ref, phi, pairs_n, beta, steps=200,
                                       weights=w_n), phi)
        tv_rlhf.append(0.5 * np.abs(np.exp(lp_rlhf) - np.exp(lp_star)).sum(1).max())
        tv_dpo.append(0.5 * np.abs(np.exp(lp_dpo) - np.exp(lp_star)).sum(1).max())
    ax_r.loglog(sizes, tv_rlhf, "o", color="C1", ms=9, label="奖励模型 + 闭式策略")
    ax_r.loglog(sizes, tv_dpo, "x-", color="C0", ms=7, mew=2, lw=1.2, label="直接 DPO")
    ax_r.loglog(sizes, tv_dpo[0] * np.sqrt(sizes[0] / sizes), color="k", lw=1, ls=":",
                label=r"$\propto n^{-1/2}$")
    ax_r.set_xlabel("每个提示的偏好对数 $n$")
    ax_r.set_ylabel(r"$\max_x\,\mathrm{TV}(\pi,\pi^*)$")
    ax_r.set_ylim(bottom=2e-3)
    ax_r.legend(loc="lower left")
    return fig


def plot_loss_and_overfitting():
    """左：单个偏好对的 DPO 损失 -log sigma(beta h') 与 IPO 损失 (h' - 1/(2 tau))^2 随对数比值差 h' 的变化；
    右：确定性偏好（同一对比较总是 y_w 胜）时，训练过程中 h' 的变化（与正文的实验相同：beta = 0.1、tau = 0.5）。"""
    h = np.linspace(-4, 8, 300)
    tau = 0.5
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    for beta, color in ((0.1, "C0"), (0.5, "C2"), (2.0, "C3")):
        ax.plot(h, -log_sigmoid(beta * h), color=color, lw=2, label=rf"DPO，$\beta={beta}$")
    ax.plot(h, (h - 1 / (2 * tau)) ** 2, color="k", lw=1.5, ls="--", label=rf"IPO，$\tau={tau}$")
    ax.set_ylim(0, 3)
    ax.set_xlabel(r"对数比值差 $h'$")
    ax.set_ylabel("单个偏好对的损失")
    ax.legend(loc="upper right")

    phi, _, theta_ref = make_problem()
    logp_ref = policy_logp(theta_ref, phi)
    pairs = np.array([[0, 1, 2]])
    th_d, th_i = theta_ref.copy(), theta_ref.copy()
    steps = np.unique(np.round(np.logspace(0, 4, 60)).astype(int))
    hd, hi = [], []
    for step in range(1, steps[-1] + 1):          # 与 dpo_toy.main 中的循环相同
        th_d -= 2.0 * dpo_grad(th_d, logp_ref, phi, pairs, 0.1)
        th_i -= 0.2 * ipo_loss_and_grad(th_i, logp_ref, phi, pairs, tau)[1]
        if step == steps[len(hd)]:
            hd.append(dpo_margin(th_d, logp_ref, phi, pairs, 1.0)[0])
            hi.append(dpo_margin(th_i, logp_ref, phi, pairs, 1.0)[0])
    ax_r.semilogx(steps, hd, color="C0", lw=2, label=r"DPO，$\beta=0.1$")
    ax_r.semilogx(steps, hi, color="k", lw=1.5, ls="--", label=rf"IPO，$\tau={tau}$")
    ax_r.set_xlabel("梯度下降步数")
    ax_r.set_ylabel(r"$h'$")
    ax_r.legend(loc="upper left")
    return fig
