"""自组织映射（SOM）的 NumPy 实现：在线 Kohonen 规则、批量 SOM、k-means 对照，
以及量化误差、拓扑误差、U-matrix 等评估指标。所有随机性都来自显式传入的种子。"""
import numpy as np


# ---------------------------------------------------------------- 网格与邻域
def grid_coords(shape):
    """单元在输出网格上的坐标 r_j，形状 (m, len(shape))；shape=(m,) 为一维链，(a, b) 为矩形网格。"""
    axes = [np.arange(s, dtype=float) for s in shape]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(shape))


def grid_sqdist(coords):
    """网格上两两单元之间的平方欧氏距离 ||r_i - r_j||^2，形状 (m, m)。"""
    diff = coords[:, None, :] - coords[None, :, :]
    return (diff ** 2).sum(-1)


def neighbourhood(grid_d2, sigma):
    """高斯邻域函数 h_ij = exp(-||r_i - r_j||^2 / (2 sigma^2))；sigma = 0 时退化为单位矩阵（纯竞争）。"""
    if sigma == 0:
        return np.eye(len(grid_d2))
    return np.exp(-grid_d2 / (2.0 * sigma ** 2))


def decay(v0, v1, frac):
    """从 v0 指数衰减到 v1，frac ∈ [0, 1] 为训练进度。"""
    return v0 * (v1 / v0) ** frac


# ---------------------------------------------------------------- 侧抑制：活动“气泡”
def mexican_hat(n, a_exc=1.0, s_exc=2.0, a_inh=0.5, s_inh=20.0):
    """环形排列的 n 个神经元之间的侧向连接：近处兴奋、远处抑制（两个高斯之差）。"""
    k = np.arange(n)
    d = np.abs(k[:, None] - k[None, :])
    d = np.minimum(d, n - d)                        # 环上的距离，避免边界效应
    return a_exc * np.exp(-d ** 2 / (2 * s_exc ** 2)) - a_inh * np.exp(-d ** 2 / (2 * s_inh ** 2))


def activity_bubble(inp, lateral, n_iter=400, dt=0.2):
    """迭代 eta <- (1-dt) eta + dt * clip(inp + L eta, 0, 1)，直到活动稳定。"""
    eta = np.zeros_like(inp, dtype=float)
    for _ in range(n_iter):
        eta = (1 - dt) * eta + dt * np.clip(inp + lateral @ eta, 0.0, 1.0)
    return eta


def bubble_input(n=60, peak=22, seed=0):
    """宽而平缓的外部输入（峰值在 peak）加上少量均匀噪声。"""
    x = np.arange(n)
    return 0.3 * np.exp(-(x - peak) ** 2 / (2 * 15.0 ** 2)) + 0.05 * np.random.default_rng(seed).random(n)


# ---------------------------------------------------------------- 获胜单元
def sqdist(X, W):
    """样本与码本向量之间的平方距离，形状 (n, m)。"""
    return (X ** 2).sum(1)[:, None] - 2.0 * X @ W.T + (W ** 2).sum(1)[None, :]


def bmu(X, W):
    """每个样本的最佳匹配单元（best matching unit）c(x) = argmin_j ||x - w_j||。"""
    return np.argmin(sqdist(X, W), axis=1)


# ---------------------------------------------------------------- 训练
def train_online(X, shape, n_steps, seed=0, lr=(0.5, 0.01), sigma=None, W0=None, callback=None):
    """在线 Kohonen 规则：每步随机抽一个样本 x，
        w_j <- w_j + lr(t) * h_{c(x), j}(t) * (x - w_j)，
    学习率与邻域半径都从初值指数衰减到终值。返回码本 W，形状 (m, d)。
    callback(t, W) 若给出，在第 t 步（t = 1, ..., n_steps）更新之后调用，用来记录训练过程。"""
    rng = np.random.default_rng(seed)
    coords = grid_coords(shape)
    d2 = grid_sqdist(coords)
    if sigma is None:
        sigma = (max(shape) / 2.0, 0.5)
    if W0 is None:                          # 初始化：数据包围盒内的均匀随机点（不含任何顺序信息）
        lo, hi = X.min(0), X.max(0)
        W0 = lo + (hi - lo) * rng.random((len(coords), X.shape[1]))
    W = np.array(W0, float)
    idx = rng.integers(len(X), size=n_steps)
    for t in range(n_steps):
        frac = t / max(n_steps - 1, 1)
        a, s = decay(lr[0], lr[1], frac), decay(sigma[0], sigma[1], frac)
        x = X[idx[t]]
        c = np.argmin(((W - x) ** 2).sum(1))
        h = np.exp(-d2[c] / (2.0 * s * s))
        W += (a * h)[:, None] * (x - W)
        if callback is not None:
            callback(t + 1, W)
    return W


def batch_step(X, W, grid_d2, sigma):
    """批量 SOM 的一次迭代：w_j = sum_n h_{c(n), j} x_n / sum_n h_{c(n), j}。
    sigma = 0 时恰好是 k-means（Lloyd）的一步。"""
    c = bmu(X, W)
    H = neighbourhood(grid_d2, sigma)[c]            # (n, m)：第 n 个样本对单元 j 的权重
    num, den = H.T @ X, H.sum(0)
    W_new = W.copy()
    ok = den > 1e-12                                # 没有分到任何权重的单元保持不动
    W_new[ok] = num[ok] / den[ok, None]
    return W_new


def train_batch(X, shape, n_iter, seed=0, sigma=None, W0=None):
    coords = grid_coords(shape)
    d2 = grid_sqdist(coords)
    rng = np.random.default_rng(seed)
    if sigma is None:
        sigma = (max(shape) / 2.0, 0.5)
    if W0 is None:
        lo, hi = X.min(0), X.max(0)
        W0 = lo + (hi - lo) * rng.random((len(coords), X.shape[1]))
    W = np.array(W0, float)
    for it in range(n_iter):
        W = batch_step(X, W, d2, decay(sigma[0], sigma[1], it / max(n_iter - 1, 1)))
    return W


def kmeans(X, k, n_iter=100, seed=0):
    """Lloyd 算法，初值取 k 个随机样本。"""
    rng = np.random.default_rng(seed)
    W = X[rng.choice(len(X), size=k, replace=False)].astype(float)
    eye = np.zeros((k, k))                          # grid_d2 在 sigma = 0 时不会被用到
    for _ in range(n_iter):
        W = batch_step(X, W, eye, 0)
    return W


# ---------------------------------------------------------------- 能量与评估
def energy(X, W, grid_d2, sigma, winners=None):
    """局部失真能量 E(W) = (1/n) sum_n (1/2) sum_j h_{c(x_n), j} ||x_n - w_j||^2。
    winners 为 None 时用当前码本的 BMU。"""
    c = bmu(X, W) if winners is None else winners
    H = neighbourhood(grid_d2, sigma)[c]
    return 0.5 * float((H * sqdist(X, W)).sum()) / len(X)


def energy_grad_fixed_winners(X, W, grid_d2, sigma, winners):
    """获胜单元固定时 E 对 w_j 的梯度：-(1/n) sum_n h_{c(n), j} (x_n - w_j)。"""
    H = neighbourhood(grid_d2, sigma)[winners]
    return -(H.T @ X - H.sum(0)[:, None] * W) / len(X)


def quantization_error(X, W):
    """量化误差：样本到其 BMU 的平均欧氏距离。"""
    return float(np.sqrt(np.maximum(sqdist(X, W).min(1), 0.0)).mean())


def topographic_error(X, W, coords):
    """拓扑误差：最近与次近码本向量在网格上不相邻（网格距离 > 1）的样本比例。"""
    two = np.argsort(sqdist(X, W), axis=1)[:, :2]
    gap = np.abs(coords[two[:, 0]] - coords[two[:, 1]]).sum(1)   # 曼哈顿距离，4-邻接
    return float(np.mean(gap > 1))


def u_matrix(W, shape):
    """U-matrix：每个单元到其 4-邻接单元码本向量的平均距离，形状 = shape。"""
    coords = grid_coords(shape)
    adj = grid_sqdist(coords) == 1
    D = np.sqrt(np.maximum(sqdist(W, W), 0.0))
    return ((D * adj).sum(1) / adj.sum(1)).reshape(shape)


def distance_profile(W, coords, max_k=None):
    """按网格距离分组的码本距离均值：返回 {网格距离 k: 平均 ||w_i - w_j||}。"""
    gd = np.sqrt(grid_sqdist(coords))
    D = np.sqrt(np.maximum(sqdist(W, W), 0.0))
    ks = np.unique(np.round(gd[gd > 0]).astype(int))
    if max_k is not None:
        ks = ks[ks <= max_k]
    return {int(k): float(D[np.round(gd) == k].mean()) for k in ks}


def rank_correlation(a, b):
    """Spearman 秩相关（无并列处理，够本文使用）。"""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def grid_codebook_correlation(W, coords):
    """所有单元对上“网格距离”与“码本距离”的 Spearman 秩相关。"""
    iu = np.triu_indices(len(W), 1)
    gd = np.sqrt(grid_sqdist(coords))[iu]
    D = np.sqrt(np.maximum(sqdist(W, W), 0.0))[iu]
    return rank_correlation(gd, D)


def is_monotone(w):
    d = np.diff(np.asarray(w).ravel())
    return bool(np.all(d > 0) or np.all(d < 0))


# ---------------------------------------------------------------- 演示
def is_grid_ordered(W, shape):
    """二维网格是否“展开”为有序映射：某一坐标沿网格第 0 轴严格单调、另一坐标沿第 1 轴严格单调。"""
    G = W.reshape(tuple(shape) + (2,))

    def mono(d):
        return bool(np.all(d > 0) or np.all(d < 0))

    def check(a, b):
        return mono(np.diff(G[:, :, a], axis=0)) and mono(np.diff(G[:, :, b], axis=1))
    return check(0, 1) or check(1, 0)


# ---------------------------------------------------------------- 演示
def square_demo_data():
    return np.random.default_rng(0).random((3000, 2))


def two_cluster_data():
    rng = np.random.default_rng(6)
    return np.concatenate([rng.normal([0, 0, 0], 0.3, (500, 3)), rng.normal([3, 3, 3], 0.3, (500, 3))])


def main():
    rng = np.random.default_rng(0)

    # 0) 侧抑制把宽输入锐化成一个局部活动气泡
    inp = bubble_input()
    eta = activity_bubble(inp, mexican_hat(len(inp)))
    print("外部输入 argmax =", int(np.argmax(inp)), " 活跃神经元 =", np.flatnonzero(eta > 0.01).tolist(),
          " 活动 =", np.round(eta[eta > 0.01], 2).tolist())

    # 1) 一维链 + 一维均匀数据
    X1 = rng.random((2000, 1))
    W1_init = np.random.default_rng(1).random((20, 1))
    W1 = train_online(X1, (20,), 4000, seed=1, sigma=(5.0, 0.5), W0=W1_init)
    print("一维链：初始单调？", is_monotone(W1_init), " 训练后单调？", is_monotone(W1))
    print("  码本 =", np.round(W1.ravel(), 3))

    # 2) 10x10 网格 + 单位正方形上的均匀数据
    X2 = square_demo_data()
    shape = (10, 10)
    coords = grid_coords(shape)
    W_init = 0.45 + 0.1 * np.random.default_rng(2).random((100, 2))   # 挤在中心的小方块里
    W2 = train_online(X2, shape, 5000, seed=3, W0=W_init)
    Wb = train_batch(X2, shape, 30, W0=W_init)
    Wk = kmeans(X2, 100, seed=4)
    for name, W in (("初始码本", W_init), ("在线 SOM", W2), ("批量 SOM", Wb), ("k-means", Wk)):
        print(f"{name:8s} QE={quantization_error(X2, W):.4f}  TE={topographic_error(X2, W, coords):.3f}  "
              f"秩相关={grid_codebook_correlation(W, coords):+.3f}  有序={is_grid_ordered(W, shape)}")
    prof = distance_profile(W2, coords, max_k=9)
    print("按网格距离分组的平均码本距离：", {k: round(v, 3) for k, v in prof.items()})

    # 3) 初始邻域半径的作用（5 个训练种子的平均）
    for s0 in (0.5, 1.0, 2.0, 5.0):
        r = [(is_grid_ordered(W, shape), topographic_error(X2, W, coords), quantization_error(X2, W))
             for W in (train_online(X2, shape, 5000, seed=s, W0=W_init, sigma=(s0, 0.5)) for s in range(5))]
        r = np.mean(np.array(r, float), axis=0)
        print(f"sigma0={s0:3.1f}: 有序比例={r[0]:.1f}  平均 TE={r[1]:.3f}  平均 QE={r[2]:.4f}")

    # 4) 两个团簇时 U-matrix 上出现“山脊”
    X3 = two_cluster_data()
    W3 = train_online(X3, shape, 10000, seed=5)
    U3, U2 = u_matrix(W3, shape), u_matrix(W2, shape)
    print(f"U-matrix max/median：两团簇 {U3.max() / np.median(U3):.2f}，均匀正方形 {U2.max() / np.median(U2):.2f}")
    ca, cb = set(bmu(X3[:500], W3).tolist()), set(bmu(X3[500:], W3).tolist())
    print(f"两团簇各占 {len(ca)} / {len(cb)} 个单元，共用的单元数 = {len(ca & cb)}；两团簇 U-matrix：")
    print(np.round(U3, 2))


if __name__ == "__main__":
    main()
