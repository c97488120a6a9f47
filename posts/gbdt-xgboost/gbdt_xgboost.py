"""XGBoost 式的二阶提升树：叶子权重、分裂增益、稀疏感知分裂与加权分位数候选（纯 NumPy）。

记号与正文一致：g_i、h_i 是损失对当前预测 yhat_i 的一阶、二阶导数；一个叶子上
G = sum g_i、H = sum h_i；正则项 Omega(f) = gamma * T + 0.5 * lam * ||w||^2。
  最优叶子权重   w* = -G / (H + lam)
  叶子最优目标   -0.5 * G^2 / (H + lam)
  分裂增益       0.5 * [GL^2/(HL+lam) + GR^2/(HR+lam) - (GL+GR)^2/(HL+HR+lam)] - gamma
缺失值用 NaN 表示；每个分裂都学习一个"默认方向"，缺失样本一律走这个方向。
"""
import numpy as np


# ---------------------------------------------------------------- 损失及其导数
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))          # 数值稳定的 1/(1+e^{-z})


def squared_loss(y, yhat):
    return 0.5 * (y - yhat) ** 2


def squared_grad_hess(y, yhat):
    """l = (y - yhat)^2 / 2：g = yhat - y，h = 1。"""
    return yhat - y, np.ones_like(yhat)


def logistic_loss(y, margin):
    """y in {0,1}，margin 是对数几率；l = log(1+e^m) - y m（用 logaddexp 防溢出）。"""
    return np.logaddexp(0.0, margin) - y * margin


def logistic_grad_hess(y, margin):
    """g = p - y，h = p (1 - p)，p = sigmoid(margin)。"""
    p = sigmoid(margin)
    return p - y, p * (1.0 - p)


LOSSES = {"squared": (squared_loss, squared_grad_hess),
          "logistic": (logistic_loss, logistic_grad_hess)}


# ---------------------------------------------------------------- 闭式公式
def leaf_weight(G, H, lam):
    return -G / (H + lam)


def leaf_score(G, H, lam):
    """叶子在最优权重处的二阶目标值（不含 gamma）：-G^2 / (2 (H + lam))。"""
    return -0.5 * G * G / (H + lam)


def split_gain(GL, HL, GR, HR, lam, gamma):
    return 0.5 * (GL * GL / (HL + lam) + GR * GR / (HR + lam)
                  - (GL + GR) ** 2 / (HL + HR + lam)) - gamma


# ---------------------------------------------------------------- 精确贪心 + 稀疏感知
def best_split(X, g, h, lam=1.0, gamma=0.0, min_child_weight=0.0):
    """在所有特征、所有相邻取值的中点上找增益最大的分裂（XGBoost 论文算法 1 + 算法 3）。

    每个特征只扫描非缺失样本，扫两遍：升序扫描时缺失值归右，降序扫描时缺失值归左。
    返回 dict(feature, threshold, default_left, gain)；没有合法分裂时返回 None。
    分裂规则：x < threshold 走左边，x >= threshold 走右边，NaN 走默认方向。
    """
    G, H = g.sum(), h.sum()
    best = None
    for k in range(X.shape[1]):
        col = X[:, k]
        present = ~np.isnan(col)
        order = np.argsort(col[present], kind="stable")
        xs, gs, hs = col[present][order], g[present][order], h[present][order]
        # 只在相邻取值不同的位置切分：cut[j] 表示前 j+1 个样本（按升序）归左
        cut = np.nonzero(xs[1:] > xs[:-1])[0]
        if cut.size == 0:
            continue
        thr = 0.5 * (xs[cut] + xs[cut + 1])
        cg, ch = np.cumsum(gs)[cut], np.cumsum(hs)[cut]          # 非缺失部分左侧之和
        Gp, Hp = gs.sum(), hs.sum()                              # 非缺失样本总和
        for default_left in (False, True):
            if default_left:      # 降序扫描：右边只含非缺失样本，缺失样本留在左边
                GR, HR = Gp - cg, Hp - ch
                GL, HL = G - GR, H - HR
            else:                 # 升序扫描：左边只含非缺失样本，缺失样本留在右边
                GL, HL = cg, ch
                GR, HR = G - GL, H - HL
            ok = (HL >= min_child_weight) & (HR >= min_child_weight)
            if not ok.any():
                continue
            gain = np.where(ok, split_gain(GL, HL, GR, HR, lam, gamma), -np.inf)
            j = int(np.argmax(gain))
            if best is None or gain[j] > best["gain"] + 1e-12:
                best = dict(feature=k, threshold=float(thr[j]),
                            default_left=default_left, gain=float(gain[j]))
            if not np.isnan(col).any():
                break             # 没有缺失值时两个方向完全相同，只扫一遍
    return best


def go_left(x, threshold, default_left):
    """分裂的路由规则（向量化）。"""
    return np.where(np.isnan(x), default_left, x < threshold)


# ---------------------------------------------------------------- 加权分位数候选
def weighted_quantile_candidates(x, h, eps):
    """按二阶导数 h 加权的分位数候选切分点（论文 3.3 节的秩函数，离线精确版本）。

    秩函数 r(z) = sum_{x_i < z} h_i / sum h_i。依次取样本值 s_1 < s_2 < ...，使相邻候选
    之间的 h 权重不超过 eps * sum h（单个样本权重超过阈值时例外）。返回候选值数组。
    真正的 XGBoost 用可合并、可剪枝的流式 sketch 近似这个秩函数；这里为了讲清原理直接排序。
    """
    order = np.argsort(x, kind="stable")
    xs, hs = x[order], h[order]
    vals, idx = np.unique(xs, return_index=True)
    w = np.add.reduceat(hs, idx)                 # 每个不同取值上的总权重
    rank = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()   # rank[j] = r(vals[j])
    cands = [vals[0]]
    last = 0.0
    for j in range(1, len(vals)):
        # 如果再往后一格会让桶的权重超过 eps，就在当前取值处放一个候选
        if rank[j + 1] - last > eps + 1e-12:
            cands.append(vals[j])
            last = rank[j]
    cands.append(vals[-1] + 1e-9)                # 右端点：保证最后一个桶闭合
    return np.asarray(cands)


def best_split_on_candidates(x, g, h, cands, lam=1.0, gamma=0.0):
    """近似算法：只在给定候选值上切分（单个无缺失特征）。先把样本按候选区间分桶、
    累加每个桶的 (G, H)，之后的扫描只涉及桶统计量。返回 (threshold, gain)。"""
    b = np.searchsorted(cands, x, side="right") - 1        # 样本所在的桶 [c_b, c_{b+1})
    Gb = np.bincount(b, weights=g, minlength=len(cands))
    Hb = np.bincount(b, weights=h, minlength=len(cands))
    GL, HL = np.cumsum(Gb)[:-1], np.cumsum(Hb)[:-1]        # 阈值取 cands[1:]，左边 = x < c
    gain = split_gain(GL, HL, g.sum() - GL, h.sum() - HL, lam, gamma)
    j = int(np.argmax(gain))
    return float(cands[j + 1]), float(gain[j])


# ---------------------------------------------------------------- 一棵树与提升
class Tree:
    """按深度优先递归生长的二阶回归树；节点存成 dict。"""

    def __init__(self, max_depth=3, lam=1.0, gamma=0.0, min_child_weight=1e-3, colsample=1.0,
                 rng=None):
        self.max_depth, self.lam, self.gamma = max_depth, lam, gamma
        self.min_child_weight, self.colsample = min_child_weight, colsample
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def fit(self, X, g, h):
        m = X.shape[1]                           # 特征数（正文的 m）
        cols = np.arange(m)
        if self.colsample < 1.0:                 # 按树的列采样
            cols = np.sort(self.rng.choice(m, max(1, int(round(self.colsample * m))), replace=False))
        self.cols = cols
        self.root = self._grow(X, g, h, np.arange(len(g)), 0)
        return self

    def _grow(self, X, g, h, idx, depth):
        G, H = g[idx].sum(), h[idx].sum()
        leaf = {"w": float(leaf_weight(G, H, self.lam))}
        if depth == self.max_depth or len(idx) < 2:
            return leaf
        s = best_split(X[np.ix_(idx, self.cols)], g[idx], h[idx], self.lam, self.gamma,
                       self.min_child_weight)
        if s is None or s["gain"] <= 0:          # 增益不超过 gamma 就不分（预剪枝）
            return leaf
        k = int(self.cols[s["feature"]])
        left = go_left(X[idx, k], s["threshold"], s["default_left"])
        return {"feature": k, "threshold": s["threshold"], "default_left": s["default_left"],
                "gain": s["gain"],
                "left": self._grow(X, g, h, idx[left], depth + 1),
                "right": self._grow(X, g, h, idx[~left], depth + 1)}

    def predict(self, X):
        out = np.empty(len(X))
        for i, x in enumerate(X):
            node = self.root
            while "w" not in node:
                v = x[node["feature"]]
                left = node["default_left"] if np.isnan(v) else v < node["threshold"]
                node = node["left"] if left else node["right"]
            out[i] = node["w"]
        return out

    def n_leaves(self, node=None):
        node = self.root if node is None else node
        return 1 if "w" in node else self.n_leaves(node["left"]) + self.n_leaves(node["right"])


def boost(X, y, loss="logistic", n_rounds=50, eta=0.3, base_score=0.0, seed=0, **tree_kw):
    """XGBoost 式提升：每一轮算 g、h，长一棵二阶树，按收缩率 eta 累加。
    返回 (trees, 每轮之后的平均训练损失)。"""
    loss_fn, grad_hess = LOSSES[loss]
    rng = np.random.default_rng(seed)
    yhat = np.full(len(y), base_score, dtype=float)
    trees, history = [], [float(loss_fn(y, yhat).mean())]
    for _ in range(n_rounds):
        g, h = grad_hess(y, yhat)
        tree = Tree(rng=rng, **tree_kw).fit(X, g, h)
        yhat = yhat + eta * tree.predict(X)
        trees.append(tree)
        history.append(float(loss_fn(y, yhat).mean()))
    return trees, np.asarray(history)


# ---------------------------------------------------------------- 演示用小数据
def toy_data():
    """12 个样本、2 个特征，第 0 个特征（第一列）有 3 个缺失值（NaN）。"""
    X = np.array([[1.0, 0.2], [2.0, 0.9], [3.0, 0.4], [np.nan, 0.8], [4.0, 0.1], [5.0, 0.7],
                  [6.0, 0.3], [np.nan, 0.6], [7.0, 0.95], [8.0, 0.5], [np.nan, 0.05], [9.0, 0.85]])
    y_reg = np.array([1.2, 1.0, 1.5, 3.1, 1.1, 2.8, 3.0, 3.3, 3.4, 2.9, 0.9, 3.6])
    y_clf = (y_reg > 2.0).astype(float)
    y_clf[[2, 9]] = 1.0 - y_clf[[2, 9]]          # 翻转两个标签，让分类不是完全可分
    return X, y_reg, y_clf


def _all_direction_gains(X, g, h, lam, gamma, s):
    x = X[:, s["feature"]]
    out = []
    for d in (True, False):
        left = go_left(x, s["threshold"], d)
        out.append(float(split_gain(g[left].sum(), h[left].sum(), g[~left].sum(), h[~left].sum(),
                                    lam, gamma)))
    return out


def main():
    X, y_reg, y_clf = toy_data()
    lam, gamma = 1.0, 0.1
    for name, y, yhat0 in (("squared", y_reg, np.full(12, y_reg.mean())),
                           ("logistic", y_clf, np.zeros(12))):
        loss_fn, grad_hess = LOSSES[name]
        g, h = grad_hess(y, yhat0)
        s = best_split(X, g, h, lam, gamma)
        left = go_left(X[:, s["feature"]], s["threshold"], s["default_left"])
        wl = leaf_weight(g[left].sum(), h[left].sum(), lam)
        wr = leaf_weight(g[~left].sum(), h[~left].sum(), lam)
        new = yhat0 + np.where(left, wl, wr)
        exact = loss_fn(y, yhat0).sum() - loss_fn(y, new).sum() - 0.5 * lam * (wl ** 2 + wr ** 2)
        w0 = leaf_weight(g.sum(), h.sum(), lam)
        exact_root = loss_fn(y, yhat0).sum() - loss_fn(y, yhat0 + w0).sum() - 0.5 * lam * w0 ** 2
        has_nan = np.isnan(X[:, s["feature"]]).any()
        where = ("缺失值默认向" + ("左" if s["default_left"] else "右")) if has_nan else "该特征无缺失值"
        print(f"[{name}] 最佳分裂: 特征 {s['feature']}, 阈值 {s['threshold']:.3f}, {where}, "
              f"增益 {s['gain']:.4f}")
        if has_nan:
            gl, gr = _all_direction_gains(X, g, h, lam, gamma, s)
            print(f"    同一阈值下缺失值归左 / 归右的增益: {gl:.4f} / {gr:.4f}")
        print(f"    叶子权重 w_L = {wl:+.4f}, w_R = {wr:+.4f}（不分裂时 w = {round(float(w0), 12) + 0.0:+.4f}）")
        print(f"    真实正则化损失：分裂比不分裂多下降 {exact - exact_root - gamma:.4f}"
              f"（二阶近似预测 {s['gain']:.4f}）")

    rng = np.random.default_rng(0)
    n = 400
    Xb = rng.uniform(-2, 2, size=(n, 3))
    Xb[rng.random((n, 3)) < 0.1] = np.nan                     # 10% 的缺失值
    f = np.sin(2 * np.nan_to_num(Xb[:, 0])) + 0.5 * np.nan_to_num(Xb[:, 1], nan=1.0) ** 2 - 1
    yb = (rng.random(n) < sigmoid(2 * f)).astype(float)
    trees, hist = boost(Xb, yb, "logistic", n_rounds=30, eta=0.3, max_depth=3, lam=1.0)
    print("logistic 提升 30 轮，第 0/1/2/5/10/20/30 轮后的平均训练损失:",
          " ".join(f"{hist[i]:.4f}" for i in (0, 1, 2, 5, 10, 20, 30)))
    print("    每一轮都严格下降:", bool(np.all(np.diff(hist) < 0)))

    # 近似分裂：只在按 h 加权的分位数候选上切分，eps 越小越接近精确贪心
    rng = np.random.default_rng(5)
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-3 * (x - 0.37)))).astype(float)
    g, h = logistic_grad_hess(y, np.zeros(3000))
    exact = best_split(x[:, None], g, h, lam, 0.0)
    print(f"3000 个样本的单特征分裂：精确贪心 阈值 {exact['threshold']:.3f} 增益 {exact['gain']:.2f}")
    for eps in (0.2, 0.05, 0.01, 0.001):
        cands = weighted_quantile_candidates(x, h, eps)
        thr, gain = best_split_on_candidates(x, g, h, cands, lam)
        print(f"    eps = {eps:<5}: {len(cands):4d} 个候选，阈值 {thr:.3f} 增益 {gain:.2f}")


if __name__ == "__main__":
    main()
