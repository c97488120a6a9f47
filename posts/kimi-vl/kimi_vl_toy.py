"""Kimi-VL 中几个关键机制的 NumPy 玩具实现（不是 Kimi-VL 的代码，规模也小得多）：

1. top-k 路由的 MoE 前馈层（含共享专家），激活参数量的计数，负载均衡辅助损失，
   以及"无辅助损失"的偏置调节；
2. 二维旋转位置编码（2-D RoPE，按 MoonViT 公开代码的行列交错排列）及其相对位置性质；
3. 把 2×2 邻域合并成一个 token 的空间重排（像素重排 / space-to-depth）；
4. NaViT 式的序列打包：多张图拼成一条序列，用块对角掩码做注意力。
"""
import numpy as np


# ================================================================ 1. MoE
def swish(x):
    return x / (1.0 + np.exp(-x))


def init_expert(d, d_e, rng):
    """一个 SwiGLU 专家：W, V ∈ R^{d×d_e}，W2 ∈ R^{d_e×d}。"""
    s = 1.0 / np.sqrt(d)
    return {"W": rng.normal(0, s, (d, d_e)), "V": rng.normal(0, s, (d, d_e)),
            "W2": rng.normal(0, 1.0 / np.sqrt(d_e), (d_e, d))}


def expert_forward(x, p):
    return (swish(x @ p["W"]) * (x @ p["V"])) @ p["W2"]


def init_moe(d=16, d_e=8, n_experts=8, k=2, n_shared=1, seed=0):
    rng = np.random.default_rng(seed)
    return {"d": d, "d_e": d_e, "E": n_experts, "k": k,
            "router": rng.normal(0, 1.0 / np.sqrt(d), (d, n_experts)),
            "experts": [init_expert(d, d_e, rng) for _ in range(n_experts)],
            "shared": [init_expert(d, d_e, rng) for _ in range(n_shared)]}


def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def route(moe, x, bias=None):
    """返回 (topk 下标 (T,k), 门控权重 (T,k), 全部路由概率 (T,E))。
    选专家用 p + bias（bias 只影响"选谁"），门控权重用未加偏置的 p 在选中的 k 个上归一化。"""
    p = softmax(x @ moe["router"])
    sel = p if bias is None else p + bias
    idx = np.argsort(-sel, axis=1, kind="stable")[:, :moe["k"]]
    g = np.take_along_axis(p, idx, axis=1)
    return idx, g / g.sum(axis=1, keepdims=True), p


def moe_forward(moe, x, bias=None):
    """y = Σ_shared FFN_s(x) + Σ_{i∈TopK(x)} g_i(x) FFN_i(x)。按专家分组计算（每个专家只处理路由给它的 token）。"""
    idx, g, p = route(moe, x, bias)
    y = sum(expert_forward(x, s) for s in moe["shared"]) if moe["shared"] else np.zeros_like(x)
    for e in range(moe["E"]):
        tok, slot = np.nonzero(idx == e)
        if len(tok):
            y[tok] += g[tok, slot, None] * expert_forward(x[tok], moe["experts"][e])
    return y, idx, g, p


def expert_params(d, d_e):
    return 3 * d * d_e


def moe_param_counts(moe):
    """(总参数量, 每个 token 的激活参数量)，都包含路由器。"""
    pe = expert_params(moe["d"], moe["d_e"])
    router = moe["d"] * moe["E"]
    n_s = len(moe["shared"])
    return (n_s + moe["E"]) * pe + router, (n_s + moe["k"]) * pe + router


def measured_active_params(moe, idx):
    """按实际路由结果逐 token 统计被用到的参数量（共享专家 + 选中的专家 + 路由器）。"""
    pe = expert_params(moe["d"], moe["d_e"])
    per_token = [(len(moe["shared"]) + len(set(row))) * pe + moe["d"] * moe["E"] for row in idx]
    return np.array(per_token)


def load_fractions(idx, E):
    """f_i：被路由到专家 i 的 (token, 槽位) 比例，Σ f_i = 1。"""
    return np.bincount(idx.ravel(), minlength=E) / idx.size


def balance_loss(p, idx, alpha=1.0):
    """Switch/GShard 式辅助损失 L = α·E·Σ_i f_i·P_i，P_i 为平均路由概率。"""
    E = p.shape[1]
    return alpha * E * float(load_fractions(idx, E) @ p.mean(axis=0))


def balance_loss_logit_grad(p, f, alpha=1.0):
    """f 视为常数时 L = α·E·Σ_i f_i·mean_t p_{t,i} 对路由 logits z_{t,j} 的梯度：
    ∂L/∂z_{t,j} = (α·E/T)·p_{t,j}·(f_j - Σ_i p_{t,i} f_i)。"""
    T, E = p.shape
    return alpha * E / T * p * (f[None, :] - (p @ f)[:, None])


def loss_free_balancing(moe, x, steps=200, u=0.002):
    """DeepSeek-V3 式无辅助损失均衡：负载高于平均的专家减小偏置，低于平均的增大。
    返回每步的 max_load / mean_load 以及最终偏置。"""
    bias = np.zeros(moe["E"])
    ratios = []
    for _ in range(steps):
        idx, _, _ = route(moe, x, bias)
        load = np.bincount(idx.ravel(), minlength=moe["E"]).astype(float)
        ratios.append(load.max() / load.mean())
        bias += u * np.sign(load.mean() - load)
    return np.array(ratios), bias


# ================================================================ 2. 2-D RoPE
def rope_angles(pos, n_pairs, base=10000.0):
    """位置 pos（标量或数组）在 n_pairs 个频率上的角度 pos·θ_j，θ_j = base^{-j/n_pairs}。"""
    theta = base ** (-np.arange(n_pairs) / n_pairs)
    return np.multiply.outer(np.asarray(pos, float), theta)


def rotate_pairs(x, ang):
    """把 x 的相邻两维 (x_{2j}, x_{2j+1}) 看成复数，乘以 e^{i·ang_j}。x: (..., 2m)，ang: (..., m)。"""
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = np.cos(ang), np.sin(ang)
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def rope_1d(x, pos, base=10000.0):
    return rotate_pairs(x, rope_angles(pos, x.shape[-1] // 2, base))


def rope_2d(x, h, w, base=10000.0):
    """MoonViT 的排列：D/2 个维度对每两对一组，第 i 组的前一对按列号 w、后一对按行号 h 旋转，
    两者共用频率 base^{-4i/D}（i = 0..D/4-1）。x: (..., D)，D 为 4 的倍数；h、w 为标量。"""
    D = x.shape[-1]
    assert D % 4 == 0
    theta = base ** (-4.0 * np.arange(D // 4) / D)
    ang = np.empty(D // 2)
    ang[0::2] = w * theta                   # 偶数号维度对：列
    ang[1::2] = h * theta                   # 奇数号维度对：行
    return rotate_pairs(x, ang)


def grid_positions(H, W):
    h, w = np.divmod(np.arange(H * W), W)
    return h, w


# ================================================================ 3. 2×2 token 合并
def merge_tokens(feat, r=2):
    """(H, W, C) 的 patch 特征 -> ((H/r)·(W/r), r·r·C)：每个 r×r 邻域拼成一个 token。"""
    H, W, C = feat.shape
    assert H % r == 0 and W % r == 0
    return feat.reshape(H // r, r, W // r, r, C).transpose(0, 2, 1, 3, 4).reshape(H // r * (W // r), r * r * C)


def unmerge_tokens(tokens, H, W, r=2):
    C = tokens.shape[1] // (r * r)
    return tokens.reshape(H // r, W // r, r, r, C).transpose(0, 2, 1, 3, 4).reshape(H, W, C)


def mlp_projector(tokens, W1, W2):
    """两层 MLP（中间用 GELU 的 tanh 近似），把 4C 维映射到语言模型的维度。"""
    h = tokens @ W1
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
    return h @ W2


# ================================================================ 4. 序列打包
def attention(q, k, v, mask=None):
    s = q @ k.T / np.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    return softmax(s) @ v


def block_diag_mask(lengths):
    seg = np.repeat(np.arange(len(lengths)), lengths)
    return seg[:, None] == seg[None, :]


def packed_attention(images, Wq, Wk, Wv):
    """images: 若干个 (L_i, C) 的 patch 序列。拼成一条 (ΣL_i, C) 的序列，用块对角掩码做一次注意力。"""
    x = np.concatenate(images)
    mask = block_diag_mask([len(im) for im in images])
    return attention(x @ Wq, x @ Wk, x @ Wv, mask)


if __name__ == "__main__":
    np.set_printoptions(precision=4, suppress=True)
    rng = np.random.default_rng(0)

    print("== MoE：E = 8 个路由专家、每 token 选 k = 2 个、1 个共享专家 ==")
    moe = init_moe()
    x = rng.standard_normal((1000, moe["d"]))
    y, idx, g, p = moe_forward(moe, x)
    total, active = moe_param_counts(moe)
    print(f"总参数 {total}，每 token 激活 {active}（{active / total:.1%}）；实测每 token 激活 "
          f"{np.unique(measured_active_params(moe, idx))}")
    print(f"门控权重之和: min {g.sum(1).min():.12f}, max {g.sum(1).max():.12f}")
    f = load_fractions(idx, moe["E"])
    print("各专家负载 f_i:", f)
    print(f"均衡损失 L/α = {balance_loss(p, idx):.4f}（完全均衡时为 1）")

    print("\n== 无辅助损失的偏置调节（路由器被人为做偏）==")
    skew = init_moe(seed=1)
    xs = rng.standard_normal((2000, skew["d"]))
    xs[:, 0] = 1.0                       # 第 0 维当作常数特征
    skew["router"][0, 0] += 1.0          # 于是专家 0 的 logit 对所有 token 都高出 1
    ratios, bias = loss_free_balancing(skew, xs)
    print(f"max/mean 负载: 第 0 步 {ratios[0]:.3f}，第 50 步 {ratios[50]:.3f}，第 199 步 {ratios[-1]:.3f}")
    print("最终偏置:", bias)

    print("\n== 2-D RoPE：注意力分数只依赖位置差 ==")
    q, k = rng.standard_normal(16), rng.standard_normal(16)
    s1 = rope_2d(q, 3, 5) @ rope_2d(k, 7, 2)
    s2 = rope_2d(q, 10, 20) @ rope_2d(k, 14, 17)      # 两个位置同时平移 (7, 15)
    print(f"score((3,5),(7,2)) = {s1:.12f}\nscore((10,20),(14,17)) = {s2:.12f}")
    for W in (8, 16):                                 # 按光栅顺序展平后用 1-D RoPE：依赖图宽
        a = rope_1d(q, 3 * W + 5) @ rope_1d(k, 7 * W + 2)
        print(f"展平 + 1-D RoPE，图宽 W = {W:2d}：score = {a:.6f}")

    print("\n== 2×2 合并：token 数变为 1/4 ==")
    for Hpx, Wpx in [(896, 896), (1344, 448)]:
        Hp, Wp = Hpx // 14, Wpx // 14
        feat = rng.standard_normal((Hp, Wp, 4))
        t = merge_tokens(feat)
        print(f"{Hpx}×{Wpx} 像素，patch 14 -> {Hp}×{Wp} = {Hp * Wp} 个 patch -> 合并后 {t.shape[0]} 个 token，"
              f"维度 4 -> {t.shape[1]}；可逆: {np.array_equal(unmerge_tokens(t, Hp, Wp), feat)}")

    print("\n== NaViT 式打包：块对角掩码 = 各图分别做注意力 ==")
    C = 8
    Wq, Wk, Wv = (rng.standard_normal((C, C)) for _ in range(3))
    imgs = [rng.standard_normal((n, C)) for n in (6, 15, 4)]
    packed = packed_attention(imgs, Wq, Wk, Wv)
    separate = np.concatenate([attention(im @ Wq, im @ Wk, im @ Wv) for im in imgs])
    print(f"最大差小于 1e-12: {np.abs(packed - separate).max() < 1e-12}；不加掩码时最大差 "
          f"{np.abs(attention(*(np.concatenate(imgs) @ W for W in (Wq, Wk, Wv))) - separate).max():.3f}")
