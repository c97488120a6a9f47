"""在 scikit-learn 自带的鸢尾花（Iris）数据上演示特征预处理、特征选择与降维。

数据随 scikit-learn 一起安装（sklearn.datasets.load_iris），不需要下载。
每个变换都配一个"手写"的 NumPy 版本（在 feature_formulas.py 里），用来核对 scikit-learn 的结果与正文里的公式。
"""
import warnings

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import (RFE, SelectFromModel, SelectKBest, VarianceThreshold, chi2,
                                       f_classif, mutual_info_classif)
from sklearn.linear_model import LogisticRegression
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (Binarizer, FunctionTransformer, MinMaxScaler, Normalizer,
                                   OneHotEncoder, PolynomialFeatures, StandardScaler)

# 手写的公式（用来核对）只依赖 NumPy，单独放在 feature_formulas.py 里，本文的图也用它们
from feature_formulas import chi2_manual, lda_manual, mutual_info_binned, pca_manual, standardize  # noqa: F401

FEATURES = ["sepal length", "sepal width", "petal length", "petal width"]


def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def split(seed=0):
    """分层划分：100 个训练样本、50 个测试样本。所有"有状态"的变换只在训练部分上 fit。"""
    X, y = iris()
    return train_test_split(X, y, test_size=50, stratify=y, random_state=seed)


def sepal_length_category(X):
    """人为构造一个类别特征：萼片长度分成 short / medium / long 三档。"""
    return np.where(X[:, 0] < 5.5, "short", np.where(X[:, 0] < 6.5, "medium", "long")).reshape(-1, 1)


# ---------------------------------------------------------------- 预处理
def preprocessing_demo(seed=0):
    """逐个演示预处理变换，返回 dict，供 main 打印、供测试断言。"""
    Xtr, Xte, ytr, yte = split(seed)
    out = {"Xtr": Xtr, "Xte": Xte, "ytr": ytr, "yte": yte}
    std = StandardScaler().fit(Xtr)
    out["std_train"], out["std_test"], out["std"] = std.transform(Xtr), std.transform(Xte), std
    mm = MinMaxScaler().fit(Xtr)
    out["minmax_train"], out["minmax_test"] = mm.transform(Xtr), mm.transform(Xte)
    out["normalized"] = Normalizer(norm="l2").fit_transform(Xtr)          # 按行，与其他样本无关
    out["binarized_pw"] = Binarizer(threshold=0.8).fit_transform(Xtr[:, [3]])   # 花瓣宽 > 0.8 cm
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(sepal_length_category(Xtr))
    out["onehot_categories"] = enc.categories_[0]
    out["onehot_test"] = enc.transform(sepal_length_category(Xte))
    out["onehot_unknown"] = enc.transform(np.array([["huge"]]))
    rng = np.random.default_rng(seed)
    Xmiss = Xtr.copy()
    Xmiss[rng.random(Xtr.shape) < 0.1] = np.nan                                # 10% 缺失
    out["Xmiss"] = Xmiss
    imp = SimpleImputer(strategy="mean", add_indicator=True).fit(Xmiss)
    out["imputer"], out["imputed"] = imp, imp.transform(Xmiss)
    poly = PolynomialFeatures(degree=2).fit(Xtr)
    out["poly"], out["poly_names"] = poly.transform(Xtr), poly.get_feature_names_out(FEATURES)
    log = FunctionTransformer(np.log1p, inverse_func=np.expm1, check_inverse=True).fit(Xtr)
    out["log"], out["log_back"] = log.transform(Xtr), log.inverse_transform(log.transform(Xtr))
    return out


def full_pipeline():
    """数值列：填补 + 标准化；类别列：独热编码；最后接逻辑回归。输入是 (X, 类别列) 拼成的对象数组。"""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    pre = ColumnTransformer([("num", numeric, [0, 1, 2, 3]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), [4])])
    return make_pipeline(pre, LogisticRegression(max_iter=1000))


def with_category(X):
    return np.concatenate([X.astype(object), sepal_length_category(X)], axis=1)


# ---------------------------------------------------------------- 特征选择
def selection_report(X, y, seed=0):
    """各种选择方法在 Iris 上的打分与选择结果（都选 2 个特征）。"""
    Xs = StandardScaler().fit_transform(X)
    out = {}
    out["variance"] = X.var(0)
    out["variance_keep"] = VarianceThreshold(threshold=0.2).fit(X).get_support()
    out["corr_with_y"] = np.array([np.corrcoef(X[:, j], y)[0, 1] for j in range(X.shape[1])])
    out["corr_matrix"] = np.corrcoef(X.T)
    out["chi2"], out["chi2_p"] = chi2(X, y)
    out["chi2_keep"] = SelectKBest(chi2, k=2).fit(X, y).get_support()
    out["anova_F"] = f_classif(X, y)[0]
    out["mi"] = mutual_info_classif(X, y, random_state=seed)
    out["mi_binned"] = np.array([mutual_info_binned(X[:, j], y) for j in range(X.shape[1])])
    out["mi_keep"] = SelectKBest(lambda X_, y_: mutual_info_classif(X_, y_, random_state=seed),
                                 k=2).fit(X, y).get_support()
    rfe = RFE(LogisticRegression(max_iter=1000), n_features_to_select=2).fit(Xs, y)
    out["rfe_keep"], out["rfe_ranking"] = rfe.get_support(), rfe.ranking_
    l1 = LogisticRegression(C=0.05, l1_ratio=1.0, solver="saga", max_iter=5000, tol=1e-6,
                            random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # saga 的收敛提示与结论无关
        sfm = SelectFromModel(l1, max_features=2).fit(Xs, y)
    out["l1_coef"] = sfm.estimator_.coef_
    out["l1_keep"] = sfm.get_support()
    rf = RandomForestClassifier(n_estimators=200, random_state=seed).fit(X, y)
    out["rf_importance"] = rf.feature_importances_
    out["rf_keep"] = SelectFromModel(rf, prefit=True, max_features=2, threshold=-np.inf).get_support()
    return out


# ---------------------------------------------------------------- 数据泄漏
def leakage_experiment(n_noise=2000, k=10, seed=0):
    """Iris 的真实标签 + n_noise 个纯噪声特征。先在全部数据上选特征再交叉验证（泄漏），
    与把选择放进 Pipeline、每一折只在训练部分上选（无泄漏）相比较。返回两者的平均准确率。"""
    _, y = iris()
    rng = np.random.default_rng(seed)
    Xn = rng.normal(size=(len(y), n_noise))
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    clf = LogisticRegression(max_iter=1000)
    leaky_X = SelectKBest(f_classif, k=k).fit_transform(Xn, y)      # 看过了全部标签
    leaky = cross_val_score(clf, leaky_X, y, cv=cv).mean()
    honest = cross_val_score(make_pipeline(SelectKBest(f_classif, k=k), clf), Xn, y, cv=cv).mean()
    return float(leaky), float(honest)


def main():
    X, y = iris()
    np.set_printoptions(precision=4, suppress=True)
    p = preprocessing_demo()
    # 训练集均值只差舍入误差（1e-16 量级）；先舍入再加 0.0，免得打印出 "-0." 这种随舍入方向变化的符号
    print("标准化后训练集均值", np.round(p["std_train"].mean(0), 10) + 0.0, "标准差", p["std_train"].std(0))
    print("标准化后测试集均值", p["std_test"].mean(0), "（用训练集的均值与方差，不再恰好为 0）")
    print("MinMax 训练集范围", p["minmax_train"].min(0), p["minmax_train"].max(0),
          "测试集范围", p["minmax_test"].min(0), p["minmax_test"].max(0))
    print("Normalizer 行范数", np.unique(np.round(np.linalg.norm(p["normalized"], axis=1), 12)))
    print("独热编码类别", p["onehot_categories"], "未知类别编码为", p["onehot_unknown"])
    print("多项式特征列数", p["poly"].shape[1], "前 6 列", list(p["poly_names"][:6]))
    print("SimpleImputer 填补值（训练集各列的均值）", p["imputer"].statistics_,
          "输出列数", p["imputed"].shape[1])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    acc = cross_val_score(full_pipeline(), with_category(X), y, cv=cv)
    print("ColumnTransformer + 逻辑回归 5 折准确率", acc, "平均", round(acc.mean(), 4))

    r = selection_report(X, y)
    print("特征:", FEATURES)
    print("方差                ", r["variance"], " VarianceThreshold(0.2) 保留", r["variance_keep"])
    print("与标签的相关系数    ", r["corr_with_y"], " 花瓣长与花瓣宽的相关系数", round(r["corr_matrix"][2, 3], 4))
    print("chi2 统计量         ", r["chi2"], " p 值", " ".join(f"{v:.1e}" for v in r["chi2_p"]))
    print("ANOVA F             ", r["anova_F"])
    print("互信息（kNN 估计）  ", r["mi"], " 上限 ln 3 =", round(np.log(3), 4))
    print("互信息（10 箱）     ", r["mi_binned"])
    print("RFE 排名            ", r["rfe_ranking"])
    print("L1 逻辑回归系数（C=0.05，行 = 类别）\n", r["l1_coef"])
    print("随机森林重要性      ", r["rf_importance"])
    for key in ("chi2_keep", "mi_keep", "rfe_keep", "l1_keep", "rf_keep"):
        print(f"  {key:10s} 选中", [FEATURES[j] for j in np.nonzero(r[key])[0]])

    Xs = StandardScaler().fit_transform(X)
    print("PCA（标准化后）解释方差比:", PCA().fit(Xs).explained_variance_ratio_)
    print("PCA（原始尺度）解释方差比:", PCA().fit(X).explained_variance_ratio_)
    lda = LinearDiscriminantAnalysis(n_components=2).fit(X, y)
    print("LDA 解释方差比:", lda.explained_variance_ratio_,
          " 手写 S_W^{-1} S_B 的前两个特征值:", lda_manual(X, y)[0][:2])

    leaky, honest = leakage_experiment()
    print(f"纯噪声特征 + Iris 标签：先选特征再交叉验证 {leaky:.3f}，选择放进管道 {honest:.3f}"
          f"（随机猜 1/3）")


if __name__ == "__main__":
    main()
