"""gbdt_xgboost 的测试：闭式的叶子权重与分裂增益要和"暴力数值最小化"逐一对上。"""
import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from gbdt_xgboost import (LOSSES, Tree, best_split, best_split_on_candidates, boost, go_left,
                          leaf_score, leaf_weight, split_gain, toy_data,
                          weighted_quantile_candidates)

LAM, GAMMA = 1.0, 0.1


def golden_min(f, lo=-50.0, hi=50.0, iters=100):
    """黄金分割搜索一维凸函数的最小值点；100 次迭代后区间宽度 ~ 100 * 0.618^100 ~ 1e-19。"""
    r = (np.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = f(d)
    w = 0.5 * (a + b)
    return w, f(w)


def second_order_leaf(g, h, lam):
    """暴力：直接数值最小化 sum(g w + h w^2 / 2) + lam w^2 / 2。"""
    return golden_min(lambda w: np.sum(g * w + 0.5 * h * w * w) + 0.5 * lam * w * w)


def exact_leaf(loss_fn, y, yhat, lam):
    """暴力：直接数值最小化真实损失 sum l(y, yhat + w) + lam w^2 / 2。"""
    return golden_min(lambda w: np.sum(loss_fn(y, yhat + w)) + 0.5 * lam * w * w)


def base_prediction(name, y):
    return np.full(len(y), y.mean()) if name == "squared" else np.zeros(len(y))


def gh(name):
    X, y_reg, y_clf = toy_data()
    y = y_reg if name == "squared" else y_clf
    yhat = base_prediction(name, y) + np.linspace(-0.3, 0.3, len(y))   # 任意的当前预测
    g, h = LOSSES[name][1](y, yhat)
    return X, y, yhat, g, h


def all_partitions(X):
    """与 best_split 相同的候选集合：每个特征、相邻不同取值的中点、缺失值两个方向。"""
    for k in range(X.shape[1]):
        vals = np.unique(X[~np.isnan(X[:, k]), k])
        for thr in 0.5 * (vals[1:] + vals[:-1]):
            for d in (False, True):
                yield k, thr, d, go_left(X[:, k], thr, d)


# ------------------------------------------------------------ 叶子权重
@pytest.mark.parametrize("name", ["squared", "logistic"])
def test_leaf_weight_minimises_second_order_objective(name):
    X, y, yhat, g, h = gh(name)
    rng = np.random.default_rng(0)
    for _ in range(20):
        S = rng.random(len(g)) < 0.5
        if not S.any():
            continue
        w_bf, obj_bf = second_order_leaf(g[S], h[S], LAM)
        # 最小值附近目标是平的：比较函数值只能把 argmin 定到 ~sqrt(机器精度) ~ 1e-8 量级
        assert abs(leaf_weight(g[S].sum(), h[S].sum(), LAM) - w_bf) < 1e-6
        assert abs(leaf_score(g[S].sum(), h[S].sum(), LAM) - obj_bf) < 1e-12


def test_squared_loss_leaf_weight_is_shrunk_mean_residual():
    X, y, yhat, g, h = gh("squared")
    r = y - yhat
    assert np.isclose(leaf_weight(g.sum(), h.sum(), 0.0), r.mean())          # lam = 0：残差均值
    assert np.isclose(leaf_weight(g.sum(), h.sum(), 3.0), r.sum() / (len(r) + 3.0))
    w_bf, _ = exact_leaf(LOSSES["squared"][0], y, yhat, 3.0)
    assert abs(leaf_weight(g.sum(), h.sum(), 3.0) - w_bf) < 1e-6


# ------------------------------------------------------------ 分裂增益
@pytest.mark.parametrize("name", ["squared", "logistic"])
def test_every_candidate_gain_equals_bruteforce_reduction(name):
    X, y, yhat, g, h = gh(name)
    _, root = second_order_leaf(g, h, LAM)
    gains = []
    for k, thr, d, L in all_partitions(X):
        _, oL = second_order_leaf(g[L], h[L], LAM)
        _, oR = second_order_leaf(g[~L], h[~L], LAM)
        bf = (root + 0.0) - (oL + oR + GAMMA)        # 不分裂：1 个叶子；分裂：多一个叶子，多付 gamma
        gains.append(bf)
        cf = split_gain(g[L].sum(), h[L].sum(), g[~L].sum(), h[~L].sum(), LAM, GAMMA)
        assert abs(cf - bf) < 1e-9
    assert abs(best_split(X, g, h, LAM, GAMMA)["gain"] - max(gains)) < 1e-9


def test_squared_loss_gain_is_exact_regularised_loss_reduction():
    # 平方损失的二阶展开没有余项：增益就是真实（正则化）损失的下降量
    X, y, yhat, g, h = gh("squared")
    loss_fn = LOSSES["squared"][0]
    _, root = exact_leaf(loss_fn, y, yhat, LAM)
    for k, thr, d, L in all_partitions(X):
        _, oL = exact_leaf(loss_fn, y[L], yhat[L], LAM)
        _, oR = exact_leaf(loss_fn, y[~L], yhat[~L], LAM)
        cf = split_gain(g[L].sum(), h[L].sum(), g[~L].sum(), h[~L].sum(), LAM, GAMMA)
        assert abs(cf - (root - oL - oR - GAMMA)) < 1e-9


def test_logistic_gain_is_only_second_order():
    # 对数损失不是二次的：二阶增益与真实损失下降量接近但不相等
    X, y, yhat, g, h = gh("logistic")
    loss_fn = LOSSES["logistic"][0]
    s = best_split(X, g, h, LAM, GAMMA)
    L = go_left(X[:, s["feature"]], s["threshold"], s["default_left"])
    _, root = exact_leaf(loss_fn, y, yhat, LAM)
    _, oL = exact_leaf(loss_fn, y[L], yhat[L], LAM)
    _, oR = exact_leaf(loss_fn, y[~L], yhat[~L], LAM)
    exact = root - oL - oR - GAMMA
    assert exact > 0 and s["gain"] > 0
    assert abs(exact - s["gain"]) > 1e-4


def test_gain_bracket_identity_and_gamma_threshold():
    rng = np.random.default_rng(1)
    for _ in range(100):
        GL, GR = rng.normal(size=2) * 3
        HL, HR = rng.uniform(0.1, 5, size=2)
        # lam = 0：GL^2/HL + GR^2/HR - G^2/H = (GL HR - GR HL)^2 / (HL HR (HL + HR)) >= 0
        lhs = split_gain(GL, HL, GR, HR, 0.0, 0.0)
        assert np.isclose(lhs, 0.5 * (GL * HR - GR * HL) ** 2 / (HL * HR * (HL + HR)), rtol=1e-9)
        assert lhs >= 0
    # lam > 0：两个子叶子各付一份 L2 惩罚，梯度比例相同的分裂反而让目标变差
    assert split_gain(1.0, 1.0, 1.0, 1.0, LAM, 0.0) < 0
    assert np.isclose(split_gain(1.0, 1.0, 1.0, 1.0, LAM, 0.0), 0.5 * (1 / 2 + 1 / 2 - 4 / 3))
    # gamma 恰好是"分还是不分"的门槛
    X, y, yhat, g, h = gh("squared")
    bracket = best_split(X, g, h, LAM, 0.0)["gain"]
    t1 = Tree(max_depth=1, lam=LAM, gamma=bracket * 0.999).fit(X, g, h)
    t2 = Tree(max_depth=1, lam=LAM, gamma=bracket * 1.001).fit(X, g, h)
    assert t1.n_leaves() == 2 and t2.n_leaves() == 1


# ------------------------------------------------------------ 稀疏感知
def test_default_direction_is_the_better_one():
    X, y, yhat, g, h = gh("squared")
    X = X[:, :1]                                   # 只看有缺失值的第 0 个特征
    s = best_split(X, g, h, LAM, GAMMA)
    assert np.isnan(X[:, s["feature"]]).any()
    gains = {}
    for d in (False, True):
        L = go_left(X[:, s["feature"]], s["threshold"], d)
        gains[d] = split_gain(g[L].sum(), h[L].sum(), g[~L].sum(), h[~L].sum(), LAM, GAMMA)
    assert np.isclose(s["gain"], gains[s["default_left"]])
    assert gains[s["default_left"]] > gains[not s["default_left"]]


def test_missing_values_learn_left_when_they_look_like_small_x():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, 200)
    y = np.where(x < 5, 0.0, 4.0) + 0.1 * rng.normal(size=200)
    x[(x < 5) & (rng.random(200) < 0.3)] = np.nan          # 只有小 x 的样本会缺失
    g, h = LOSSES["squared"][1](y, np.full(200, y.mean()))
    s = best_split(x[:, None], g, h, LAM, 0.0)
    assert s["default_left"] and 4.5 < s["threshold"] < 5.5


# ------------------------------------------------------------ 与 CART / 经典 GBDT 对照
def test_lambda0_squared_split_matches_sklearn_cart_stump():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = np.sin(X[:, 2]) * 2 + 0.3 * X[:, 0] + 0.2 * rng.normal(size=300)
    yhat = np.full(300, y.mean())
    g, h = LOSSES["squared"][1](y, yhat)
    s = best_split(X, g, h, lam=0.0, gamma=0.0)
    cart = DecisionTreeRegressor(max_depth=1).fit(X, y - yhat)   # CART 拟合负梯度 = 残差
    assert s["feature"] == cart.tree_.feature[0]
    assert np.isclose(s["threshold"], cart.tree_.threshold[0])
    L = X[:, s["feature"]] < s["threshold"]
    # lam = 0 时叶子权重 = 叶内残差均值（经典 GBDT 平方损失的叶子值）
    assert np.isclose(leaf_weight(g[L].sum(), h[L].sum(), 0.0), cart.tree_.value[1, 0, 0])
    assert np.isclose(leaf_weight(g[~L].sum(), h[~L].sum(), 0.0), cart.tree_.value[2, 0, 0])
    # 二阶增益（h = 1，lam = 0）= 平方误差下降量的一半
    sse = lambda r: np.sum((r - r.mean()) ** 2)
    r = y - yhat
    assert np.isclose(s["gain"], 0.5 * (sse(r) - sse(r[L]) - sse(r[~L])))


# ------------------------------------------------------------ 加权分位数
def test_weighted_quantile_buckets_have_bounded_h_weight():
    rng = np.random.default_rng(4)
    x = rng.normal(size=2000)
    h = rng.uniform(0.01, 1, 2000) ** 3            # 权重很不均匀
    eps = 0.05
    c = weighted_quantile_candidates(x, h, eps)
    assert np.all(np.diff(c) > 0) and c[0] == x.min() and c[-1] > x.max()
    bucket = np.searchsorted(c, x, side="right") - 1
    wb = np.bincount(bucket, weights=h, minlength=len(c)) / h.sum()
    assert wb.max() <= eps + 1e-12
    assert len(c) <= 2 / eps + 2                  # 相邻两个桶的权重之和必然超过 eps


def test_uniform_h_gives_ordinary_quantiles():
    x = np.arange(1000, dtype=float)
    c = weighted_quantile_candidates(x, np.ones(1000), 0.1)
    np.testing.assert_allclose(c[:-1], np.arange(0, 1000, 100))


def test_approximate_split_approaches_exact():
    rng = np.random.default_rng(5)
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-3 * (x - 0.37)))).astype(float)
    g, h = LOSSES["logistic"][1](y, np.zeros(3000))
    exact = best_split(x[:, None], g, h, LAM, 0.0)["gain"]
    prev = -np.inf
    for eps in (0.2, 0.05, 0.01, 0.001):
        _, gain = best_split_on_candidates(x, g, h, weighted_quantile_candidates(x, h, eps), LAM)
        assert gain <= exact + 1e-9                # 候选阈值只是精确算法候选的一部分
        prev = gain
    assert exact - prev < 1e-3 * exact            # eps = 0.001 时几乎追平精确增益


# ------------------------------------------------------------ 提升
def test_boosting_reduces_training_loss():
    X, _, y = toy_data()
    _, hist = boost(X, y, "logistic", n_rounds=20, eta=0.3, max_depth=2, lam=1.0)
    assert np.all(np.diff(hist) < 0)
    assert hist[-1] < 0.5 * hist[0]
    X, y, _ = toy_data()
    _, hist = boost(X, y, "squared", n_rounds=20, eta=0.3, max_depth=2, lam=1.0,
                    base_score=float(y.mean()))
    assert np.all(np.diff(hist) < 0)
