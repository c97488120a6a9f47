"""feature_engineering_iris 的测试：每个变换的数学性质、手写公式与 scikit-learn 的一致性、无泄漏的管道。"""
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.stats import chi2 as chi2_dist
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.feature_selection import chi2, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from feature_engineering_iris import (chi2_manual, full_pipeline, iris, lda_manual,
                                      leakage_experiment, mutual_info_binned, pca_manual,
                                      preprocessing_demo, selection_report, standardize,
                                      with_category)

PETAL = np.array([False, False, True, True])


@lru_cache(maxsize=None)
def demo():
    return preprocessing_demo()


@lru_cache(maxsize=None)
def report():
    X, y = iris()
    return selection_report(X, y)


# ------------------------------------------------------------ 预处理
def test_standard_scaler_zero_mean_unit_variance_on_train_only():
    p = demo()
    np.testing.assert_allclose(p["std_train"].mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(p["std_train"].std(0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p["std_train"], standardize(p["Xtr"]), rtol=1e-12)
    # 测试集用训练集的统计量变换：公式一致，但均值不再恰好为 0
    np.testing.assert_allclose(p["std_test"], standardize(p["Xte"], p["Xtr"].mean(0), p["Xtr"].std(0)))
    assert np.abs(p["std_test"].mean(0)).max() > 1e-3


def test_minmax_maps_train_onto_unit_interval():
    p = demo()
    Xtr, Xte = p["Xtr"], p["Xte"]
    np.testing.assert_allclose(p["minmax_train"].min(0), 0.0, atol=1e-15)
    np.testing.assert_allclose(p["minmax_train"].max(0), 1.0, atol=1e-15)
    lo, hi = Xtr.min(0), Xtr.max(0)
    np.testing.assert_allclose(p["minmax_test"], (Xte - lo) / (hi - lo), rtol=1e-12)
    # 测试集落在训练范围之外的值会超出 [0, 1]（本划分里花瓣宽度的最大值 1.0435）
    assert p["minmax_test"].max() > 1.0


def test_normalizer_gives_unit_row_norms():
    p = demo()
    np.testing.assert_allclose(np.linalg.norm(p["normalized"], axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p["normalized"] * np.linalg.norm(p["Xtr"], axis=1, keepdims=True),
                               p["Xtr"], rtol=1e-12)


def test_binarized_petal_width_separates_setosa():
    p = demo()
    b = p["binarized_pw"].ravel()
    assert set(np.unique(b)) == {0.0, 1.0}
    assert np.array_equal(b == 0, p["ytr"] == 0)      # 花瓣宽 <= 0.8 cm 恰好就是山鸢尾


def test_one_hot_rows_sum_to_one_and_unknown_is_all_zero():
    p = demo()
    assert list(p["onehot_categories"]) == ["long", "medium", "short"]
    np.testing.assert_array_equal(p["onehot_test"].sum(1), 1.0)
    np.testing.assert_array_equal(p["onehot_unknown"], [[0.0, 0.0, 0.0]])


def test_imputer_fills_training_means_and_adds_indicators():
    p = demo()
    Xm, out = p["Xmiss"], p["imputed"]
    miss = np.isnan(Xm)
    assert miss.any(axis=0).all()
    np.testing.assert_allclose(p["imputer"].statistics_, np.nanmean(Xm, axis=0), rtol=1e-12)
    filled = out[:, :4]
    np.testing.assert_allclose(filled[miss], np.broadcast_to(np.nanmean(Xm, 0), Xm.shape)[miss])
    np.testing.assert_array_equal(filled[~miss], Xm[~miss])
    np.testing.assert_array_equal(out[:, 4:], miss.astype(float))   # 缺失指示列


def test_polynomial_features_are_all_monomials_up_to_degree_two():
    p = demo()
    P, names, X = p["poly"], list(p["poly_names"]), p["Xtr"]
    assert P.shape[1] == 15                                       # C(4 + 2, 2)
    np.testing.assert_array_equal(P[:, 0], 1.0)
    j = names.index("petal length petal width")
    np.testing.assert_allclose(P[:, j], X[:, 2] * X[:, 3])
    j = names.index("sepal width^2")
    np.testing.assert_allclose(P[:, j], X[:, 1] ** 2)


def test_function_transformer_log1p_is_invertible():
    p = demo()
    np.testing.assert_allclose(p["log"], np.log1p(p["Xtr"]))
    np.testing.assert_allclose(p["log_back"], p["Xtr"], rtol=1e-12)


# ------------------------------------------------------------ 过滤式选择
def test_variance_threshold_and_correlations():
    r = report()
    np.testing.assert_array_equal(r["variance_keep"], [True, False, True, True])   # 萼片宽方差 0.189
    assert r["corr_matrix"][2, 3] > 0.96                      # 花瓣长与宽高度冗余
    assert np.argsort(-np.abs(r["corr_with_y"]))[:2].tolist() == [3, 2]


def test_chi2_formula_matches_scikit_learn():
    X, y = iris()
    stat, p = chi2(X, y)
    np.testing.assert_allclose(chi2_manual(X, y), stat, rtol=1e-12)
    np.testing.assert_allclose(chi2_dist.sf(stat, df=2), p, rtol=1e-9)   # 自由度 = 类别数 - 1
    np.testing.assert_array_equal(report()["chi2_keep"], PETAL)


def test_mutual_information_estimates():
    X, y = iris()
    mi = report()["mi"]
    assert np.all(mi >= 0) and np.all(mi <= np.log(3))        # 0 <= I(X;Y) <= H(Y) = ln 3
    assert mi[2] > 0.9 and mi[3] > 0.9                         # 花瓣特征几乎决定类别
    binned = report()["mi_binned"]
    assert np.all(binned <= np.log(3) + 1e-12)
    assert np.argsort(-binned)[:2].tolist() == np.argsort(-mi)[:2].tolist() == [2, 3]
    # 与标签独立的特征：打乱后互信息接近 0（分箱插值估计有正偏差 ~ (箱数-1)(类数-1)/(2n)）
    yp = np.random.default_rng(0).permutation(y)
    assert mutual_info_binned(X[:, 2], yp) < 3 * 9 * 2 / (2 * len(y))
    assert mutual_info_classif(X[:, [2]], yp, random_state=0)[0] < 0.1


# ------------------------------------------------------------ 包裹式与嵌入式选择
def test_every_selector_picks_the_petal_features():
    r = report()
    for key in ("chi2_keep", "mi_keep", "rfe_keep", "l1_keep", "rf_keep"):
        np.testing.assert_array_equal(r[key], PETAL, err_msg=key)
    assert r["rf_importance"][PETAL].sum() > 0.8
    np.testing.assert_array_equal(r["l1_coef"][:, 0], 0.0)   # L1 把萼片长度的系数全部压成 0


# ------------------------------------------------------------ 降维
def test_pca_matches_eigendecomposition():
    X, _ = iris()
    Xs = StandardScaler().fit_transform(X)
    pca = PCA().fit(Xs)
    vals, vecs = pca_manual(Xs)
    np.testing.assert_allclose(pca.explained_variance_, vals, rtol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.abs(pca.components_ @ vecs), np.eye(4), atol=1e-8)  # 差一个符号
    assert 0.95 < pca.explained_variance_ratio_[:2].sum() < 0.96                     # 0.9581
    # 尺度敏感：不标准化时方差最大的花瓣长度主导第一主成分
    raw = PCA().fit(X)
    assert raw.explained_variance_ratio_[0] > 0.92 and np.argmax(np.abs(raw.components_[0])) == 2


def test_lda_generalized_eigenproblem():
    X, y = iris()
    lda = LinearDiscriminantAnalysis(n_components=2).fit(X, y)
    vals, vecs, Sw, Sb = lda_manual(X, y)
    assert np.linalg.matrix_rank(Sb) == 2                      # 秩 <= 类别数 - 1
    assert abs(vals[2]) < 1e-8 * vals[0] and abs(vals[3]) < 1e-8 * vals[0]
    np.testing.assert_allclose(lda.explained_variance_ratio_, vals[:2] / vals[:2].sum(), rtol=1e-8)
    # 第一判别方向使 Fisher 判据 w^T S_B w / w^T S_W w 达到最大特征值
    w = vecs[:, 0]
    assert np.isclose(w @ Sb @ w / (w @ Sw @ w), vals[0], rtol=1e-10)
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = rng.normal(size=4)
        assert v @ Sb @ v / (v @ Sw @ v) <= vals[0] * (1 + 1e-12)


# ------------------------------------------------------------ 管道与泄漏
def test_pipeline_cross_validation_fits_scaler_inside_each_fold():
    X, y = iris()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    pipe_scores = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                                  X, y, cv=cv)
    manual = []
    for tr, te in cv.split(X, y):
        mu, sd = X[tr].mean(0), X[tr].std(0)                   # 只用训练折的统计量
        clf = LogisticRegression(max_iter=1000).fit(standardize(X[tr], mu, sd), y[tr])
        manual.append(clf.score(standardize(X[te], mu, sd), y[te]))
    np.testing.assert_allclose(pipe_scores, manual, rtol=0, atol=0)
    assert pipe_scores.mean() > 0.9
    mixed = cross_val_score(full_pipeline(), with_category(X), y, cv=cv)
    assert mixed.mean() > 0.9


def test_feature_selection_outside_cv_leaks():
    leaky, honest = leakage_experiment()
    # 150 个样本、随机猜的准确率 1/3，标准误 ~ 0.0385；无泄漏时应在 1/3 + 4 个标准误以内
    assert honest < 1 / 3 + 4 * np.sqrt(2 / 9 / 150)
    assert leaky > 0.5


# ------------------------------------------------------------ 画图代码
def test_figure_code_does_not_import_scikit_learn():
    # 构建网站时没有 scikit-learn：画图代码及其导入的 feature_formulas 只能依赖 NumPy/matplotlib
    here = Path(__file__).resolve().parent
    code = ("import sys; import feature_engineering_figures; "
            "sys.exit(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))")
    subprocess.run([sys.executable, "-c", code], cwd=here, check=True, env={**os.environ, "MPLBACKEND": "agg"})
