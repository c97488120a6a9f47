"""Stable Diffusion 3 里几个机制的 NumPy 玩具实现。

- Rectified Flow 的插值、速度目标以及与噪声预测的换算
- logit-normal 时间采样（密度、分布函数、采样）与分辨率相关的时间平移
- “常数图像”论证：时间平移为什么取 alpha = sqrt(n'/n)（n、n' 为两种分辨率的像素数）
- 三个文本编码器输出的拼接方式
- MMDiT 块：文本与图像两组独立权重、adaLN 调制、RMSNorm 的 QK 归一化、联合注意力
- 二维正弦位置编码与中心裁剪、latent 的分块（patchify）
"""
from math import erf, sqrt

import numpy as np


# ---------------------------------------------------------------- 时间采样
def logit(t):
    return np.log(t) - np.log1p(-t)


def sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def logit_normal_pdf(t, m=0.0, s=1.0):
    """pi(t; m, s) = 1/(s sqrt(2 pi)) * 1/(t (1-t)) * exp(-(logit t - m)^2 / (2 s^2))，t in (0, 1)。"""
    t = np.asarray(t, float)
    return np.exp(-(logit(t) - m) ** 2 / (2 * s * s)) / (s * np.sqrt(2 * np.pi) * t * (1 - t))


def logit_normal_cdf(t, m=0.0, s=1.0):
    z = (logit(np.asarray(t, float)) - m) / (s * sqrt(2.0))
    return 0.5 * (1.0 + np.vectorize(erf)(z))


def sample_logit_normal(n, rng, m=0.0, s=1.0):
    """u ~ N(m, s^2)，t = sigmoid(u)。"""
    return sigmoid(m + s * rng.standard_normal(n))


def shift_time(t, alpha):
    """分辨率相关的时间平移：t' = alpha t / (1 + (alpha - 1) t)，等价于 logit t' = logit t + log alpha。"""
    t = np.asarray(t, float)
    return alpha * t / (1.0 + (alpha - 1.0) * t)


def ks_statistic(samples, cdf):
    """单样本 Kolmogorov–Smirnov 统计量 sup |F_n - F|。"""
    x = np.sort(samples)
    n = len(x)
    F = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n)))


# ---------------------------------------------------------------- Rectified Flow
def rf_interpolate(x0, eps, t):
    """z_t = (1 - t) x_0 + t eps：t = 0 是数据，t = 1 是噪声。"""
    return (1.0 - t) * x0 + t * eps


def rf_target(x0, eps):
    """dz_t/dt = eps - x_0。"""
    return eps - x0


def eps_x0_from_velocity(z, v, t):
    """由 z_t 和速度 v 反解：x_0 = z - t v，eps = z + (1 - t) v。"""
    return z + (1.0 - t) * v, z - t * v


def constant_image_estimate_std(t, n_pixels, rng, trials=20000, c=0.7):
    """“常数图像”论证：n 个像素都等于 c，看到 z_t 后用像素平均估计 c，返回估计量的经验标准差。
    理论值为 t / ((1 - t) sqrt(n))。"""
    eps = rng.standard_normal((trials, n_pixels))
    z = (1 - t) * c + t * eps
    return float((z.mean(axis=1) / (1 - t)).std())


# ---------------------------------------------------------------- 文本编码的拼接
def combine_text_embeddings(clip_l, clip_g, t5, pooled_l, pooled_g):
    """clip_l: (77, 768)，clip_g: (77, 1280)，t5: (L_t5, 4096)，pooled_l: (768,)，pooled_g: (1280,)。
    两个 CLIP 的倒数第二层隐状态按通道拼成 (77, 2048)，补零到 4096 维，再与 T5 按序列拼接；
    两个池化向量拼成 2048 维。"""
    clip = np.concatenate([clip_l, clip_g], axis=1)
    clip = np.pad(clip, ((0, 0), (0, t5.shape[1] - clip.shape[1])))
    return np.concatenate([clip, t5], axis=0), np.concatenate([pooled_l, pooled_g])


# ---------------------------------------------------------------- MMDiT 块
def layer_norm(x, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + eps)


def rms_norm(x, g, eps=1e-6):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def softmax(a):
    a = a - a.max(-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(-1, keepdims=True)


def init_stream(D, rng, zero_mod=False):
    """一个模态（文本或图像）的全部权重：adaLN 调制、QKV、QK 归一化增益、输出投影、MLP。"""
    r = lambda *shape: rng.standard_normal(shape) / np.sqrt(shape[0])
    return {"Wmod": np.zeros((D, 6 * D)) if zero_mod else 0.3 * r(D, 6 * D), "bmod": np.zeros(6 * D),
            "Wqkv": r(D, 3 * D), "bqkv": np.zeros(3 * D), "gq": np.ones(1), "gk": np.ones(1),
            "Wo": r(D, D), "bo": np.zeros(D), "W1": r(D, 4 * D), "b1": np.zeros(4 * D),
            "W2": r(4 * D, D), "b2": np.zeros(D)}


def _pre_attention(h, y, p, heads, qk_norm):
    mod = silu(y) @ p["Wmod"] + p["bmod"]
    sh1, sc1, g1, sh2, sc2, g2 = np.split(mod, 6)
    a = layer_norm(h) * (1 + sc1) + sh1                       # adaLN：无仿射的 LN，再按条件平移缩放
    q, k, v = np.split(a @ p["Wqkv"] + p["bqkv"], 3, axis=-1)
    N, D = h.shape
    q, k, v = (z.reshape(N, heads, D // heads).transpose(1, 0, 2) for z in (q, k, v))
    if qk_norm:
        q, k = rms_norm(q, p["gq"]), rms_norm(k, p["gk"])     # 每个头内对 q、k 做 RMSNorm
    return q, k, v, (g1, sh2, sc2, g2)


def _post_attention(h, o, p, mods):
    g1, sh2, sc2, g2 = mods
    h = h + g1 * (o @ p["Wo"] + p["bo"])                      # 门控残差
    m = layer_norm(h) * (1 + sc2) + sh2
    return h + g2 * (gelu(m @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])


def joint_attention(qs, ks, vs):
    """把各模态的 q、k、v 沿序列拼接，做一次普通的多头注意力，再按原长度切开。"""
    q, k, v = (np.concatenate(z, axis=1) for z in (qs, ks, vs))   # (heads, N_total, d_head)
    A = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]))
    o = (A @ v).transpose(1, 0, 2).reshape(q.shape[1], -1)
    return np.split(o, np.cumsum([z.shape[1] for z in qs])[:-1]), A


def mmdit_block(x, c, y, px, pc, heads, qk_norm=True, return_attn=False):
    """x: (N_x, D) 图像 token，c: (N_c, D) 文本 token，y: (D,) 条件向量（时间嵌入 + 池化文本）。
    px、pc 是图像流与文本流各自的权重；两个流只在联合注意力里相遇。"""
    qc, kc, vc, mc = _pre_attention(c, y, pc, heads, qk_norm)
    qx, kx, vx, mx = _pre_attention(x, y, px, heads, qk_norm)
    (oc, ox), A = joint_attention([qc, qx], [kc, kx], [vc, vx])   # 顺序：文本在前，图像在后
    out = (_post_attention(x, ox, px, mx), _post_attention(c, oc, pc, mc))
    return out + (A,) if return_attn else out


def single_stream_block(seq, y, p, heads, qk_norm=True):
    """所有 token 共用一组权重的标准 DiT 块（用来核对：两组权重相同时 MMDiT 退化为它）。"""
    q, k, v, mods = _pre_attention(seq, y, p, heads, qk_norm)
    (o,), _ = joint_attention([q], [k], [v])
    return _post_attention(seq, o, p, mods)


def attention_entropy(A):
    return float(-(A * np.log(A + 1e-300)).sum(-1).mean())


def mmdit_param_estimate(depth):
    """按论文的参数化（隐藏维数 D = 64 * depth，MLP 扩 4 倍）粗算主体参数量：
    每个块两个流，每个流 adaLN 6D^2 + QKV 3D^2 + 输出 D^2 + MLP 8D^2 = 18D^2。忽略偏置、嵌入层与最后一层。"""
    D = 64 * depth
    return depth * 2 * 18 * D * D


# ---------------------------------------------------------------- 位置编码与分块
def sincos_1d(dim, pos):
    omega = 1.0 / 10000 ** (np.arange(dim // 2) / (dim / 2.0))
    out = np.asarray(pos, float).reshape(-1)[:, None] * omega[None, :]
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def pos_embed_2d(dim, h, w, top=0, left=0):
    """二维正弦位置编码：前一半通道编码行坐标，后一半编码列坐标。返回 (h*w, dim)，行优先。"""
    rows, cols = np.meshgrid(np.arange(top, top + h), np.arange(left, left + w), indexing="ij")
    return np.concatenate([sincos_1d(dim // 2, rows), sincos_1d(dim // 2, cols)], axis=1)


def cropped_pos_embed(table, max_size, h, w):
    """从 max_size×max_size 的位置编码表中心裁出 h×w 的一块。"""
    top, left = (max_size - h) // 2, (max_size - w) // 2
    grid = table.reshape(max_size, max_size, -1)
    return grid[top:top + h, left:left + w].reshape(h * w, -1)


def patchify(z, p=2):
    """latent (C, H, W) -> token (H/p * W/p, p*p*C)。"""
    C, H, W = z.shape
    return z.reshape(C, H // p, p, W // p, p).transpose(1, 3, 2, 4, 0).reshape((H // p) * (W // p), p * p * C)


def unpatchify(tokens, C, H, W, p=2):
    return tokens.reshape(H // p, W // p, p, p, C).transpose(4, 0, 2, 1, 3).reshape(C, H, W)


def main():
    rng = np.random.default_rng(0)
    t = sample_logit_normal(200_000, rng)
    print(f"logit-normal(0,1): 均值 {t.mean():.4f}  中位数 {np.median(t):.4f}  "
          f"KS = {ks_statistic(t, logit_normal_cdf):.5f}（1% 临界值 {1.628 / np.sqrt(len(t)):.5f}）")
    ts = shift_time(t, 3.0)
    print(f"shift alpha=3 后: 均值 {ts.mean():.4f}  中位数 {np.median(ts):.4f}  "
          f"对 logit-normal(log 3, 1) 的 KS = {ks_statistic(ts, lambda u: logit_normal_cdf(u, np.log(3.0))):.5f}")
    for tn in (0.3, 0.5, 0.8):
        tm = float(shift_time(tn, 2.0))
        a = constant_image_estimate_std(tn, 16, rng)
        b = constant_image_estimate_std(tm, 64, rng)
        print(f"常数图像: n=16, t={tn:.2f} -> std {a:.4f}；n'=64, t'={tm:.3f} -> std {b:.4f}；"
              f"理论 {tn / ((1 - tn) * 4):.4f}")
    D, heads = 64, 4
    px, pc = init_stream(D, rng), init_stream(D, rng)
    x, c, y = rng.standard_normal((16, D)), rng.standard_normal((6, D)), rng.standard_normal(D)
    xo, co, A = mmdit_block(x, c, y, px, pc, heads, return_attn=True)
    print("MMDiT 块:", x.shape, c.shape, "->", xo.shape, co.shape, " 联合注意力矩阵", A.shape)
    for d in (24, 38):
        print(f"depth={d}: D={64 * d}，主体参数约 {mmdit_param_estimate(d) / 1e9:.2f}B")


if __name__ == "__main__":
    main()
