"""ensemble_adaboost 的测试：AdaBoost 的恒等式与上界、bagging 的方差公式、stacking 的泄漏。"""
from functools import lru_cache

import numpy as np

from ensemble_adaboost import (adaboost, adaboost_predict, bagging_experiment, bagging_summary,
                               circle_data, fit_stump, majority_vote_error,
                               simulate_equicorrelated_mean, stacking_experiment, stump_predict,
                               var_of_mean_formula)

T = 200


@lru_cache(maxsize=None)
def model():
    X, y = circle_data()
    return adaboost(X, y, T)


# ------------------------------------------------------------ 多数投票
def test_majority_vote_error_by_enumeration():
    # 枚举 M = 5 个独立分类器全部 2^5 种对错组合，累加多数出错的组合的概率
    q, M = 0.3, 5
    wrong = np.array(np.meshgrid(*[[0, 1]] * M)).reshape(M, -1).T
    prob = np.prod(np.where(wrong == 1, q, 1 - q), axis=1)
    assert abs(prob[wrong.sum(1) > M / 2].sum() - majority_vote_error(q, M)) < 1e-15
    assert majority_vote_error(q, 1) == q
    assert abs(majority_vote_error(0.5, 21) - 0.5) < 1e-12          # 随机猜：投票也没用
    errs = [majority_vote_error(q, M) for M in (1, 3, 5, 21, 101)]
    assert all(b < a for a, b in zip(errs, errs[1:]))                 # q < 1/2：M 越大越好
    assert majority_vote_error(0.55, 21) > 0.55                       # q > 1/2：投票让情况更糟


# ------------------------------------------------------------ 决策树桩
def test_stump_is_weighted_error_optimal_by_brute_force():
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(40, 3)), 1)          # 有重复取值
    y = np.where(rng.random(40) < 0.5, 1.0, -1.0)
    w = rng.random(40)
    w /= w.sum()
    k, theta, s, err = fit_stump(X, y, w)
    best = np.inf
    for kk in range(3):
        v = np.unique(X[:, kk])
        for th in np.concatenate([[v[0] - 1], 0.5 * (v[1:] + v[:-1])]):
            for ss in (1, -1):
                best = min(best, w[ss * np.where(X[:, kk] > th, 1, -1) != y].sum())
    assert abs(err - best) < 1e-12
    assert abs(w[stump_predict(X, (k, theta, s, err)) != y].sum() - err) < 1e-12


# ------------------------------------------------------------ AdaBoost 的恒等式与上界
def test_training_error_never_exceeds_bound():
    m = model()
    assert np.all(m["train_err"] <= m["bound"] + 1e-12)


def test_exp_loss_equals_product_of_Z_and_bound_decreases():
    m = model()
    eps = m["eps"]
    # Z_t 在最优 alpha 处等于 2 sqrt(eps (1 - eps))
    np.testing.assert_allclose(m["Z"], 2 * np.sqrt(eps * (1 - eps)), rtol=1e-12)
    # 训练集上的指数损失 = prod Z_t（这正是上界）
    np.testing.assert_allclose(m["exp_loss"], np.cumprod(m["Z"]), rtol=1e-10)
    assert np.all(eps < 0.5)                    # 树桩总比随机猜好（在加权意义下）
    assert np.all(np.diff(m["bound"]) < 0)      # 所以上界每轮严格下降


def test_training_error_goes_down_but_not_monotonically():
    err = model()["train_err"]
    assert err[-1] == 0.0                       # 200 轮后训练集完全分对
    assert err[99] < 0.01 and err[19] < 0.1 < err[0]
    assert np.any(np.diff(err) > 0)             # 0-1 错误率本身可以回升，只有上界单调
    X, y = circle_data(5000, seed=99)
    assert np.mean(adaboost_predict(X, model()) != y) < 0.06


def test_alpha_minimises_Z_on_actual_weights():
    X, y = circle_data()
    m = model()
    grid = np.linspace(-2, 3, 200_001)          # 步长 2.5e-5
    for t in range(0, T, 20):
        w, h = m["w"][t], stump_predict(X, m["stump"][t])
        a_miss, a_hit = w[h != y].sum(), w[h == y].sum()
        Z = a_hit * np.exp(-grid) + a_miss * np.exp(grid)
        a_star = grid[np.argmin(Z)]
        assert abs(a_star - m["alpha"][t]) < 2.5e-5
        assert np.isclose(m["alpha"][t], 0.5 * np.log((1 - m["eps"][t]) / m["eps"][t]))


def test_reweighting_makes_last_stump_a_coin_flip():
    m = model()
    np.testing.assert_allclose(m["err_after_reweight"], 0.5, atol=1e-12)
    np.testing.assert_allclose([w.sum() for w in m["w"]], 1.0, atol=1e-12)


# ------------------------------------------------------------ Bagging 的方差
def test_variance_of_mean_of_equicorrelated_predictors():
    rng = np.random.default_rng(1)
    N = 100_000
    for rho in (0.0, 0.3, 0.7):
        for M in (1, 5, 20):
            v = var_of_mean_formula(rho, 2.0, M)
            est = simulate_equicorrelated_mean(rho, 2.0, M, N, rng).var(ddof=1)
            # 高斯样本方差的标准误 = v sqrt(2 / (N - 1))，容差取 4 倍
            assert abs(est - v) < 4 * v * np.sqrt(2 / (N - 1))
    # M -> 无穷时不会低于 rho sigma^2
    assert np.isclose(var_of_mean_formula(0.3, 2.0, 10 ** 9), 0.6, rtol=1e-8)


def test_bagging_one_nn_reduces_variance_down_to_correlation_floor():
    b = bagging_summary(bagging_experiment(R=300, B=20))
    floor = b["rho"] * b["sigma2"]
    assert 0.3 < b["rho"] < 0.6                 # 自助样本高度重叠，成员强相关
    assert b["var_bag"] < 0.6 * b["var_single"]  # 方差大约减半
    assert b["var_bag"] > floor                 # 但降不到相关性决定的下限以下
    # 成员可交换时公式是精确的；这里的 rho 用相关系数的平均估计，故只要求 2% 以内
    assert abs(b["var_bag"] / var_of_mean_formula(b["rho"], b["sigma2"], b["B"]) - 1) < 0.02


# ------------------------------------------------------------ Stacking
def test_in_sample_stacking_leaks_and_oof_stacking_helps():
    st = stacking_experiment()
    # 1-NN 的训练误差为 0：用训练集内预测，元学习器把全部权重给 1-NN
    assert st["train_mse_base"][0] == 0.0
    np.testing.assert_allclose(st["weights_in_sample"], [0, 1, 0, 0], atol=1e-4)
    assert np.isclose(st["test_mse_in_sample"], st["test_mse_base"][0], rtol=1e-3)
    # 折外预测：两个"专才"模型都拿到可观的权重，测试误差明显低于任何单个基模型
    assert st["weights_oof"][2] > 0.3 and st["weights_oof"][3] > 0.3
    assert st["test_mse_oof"] < 0.75 * st["test_mse_base"].min()
    assert st["test_mse_oof"] > st["noise_var"]   # 但不可能低于噪声方差
