"""Stable Diffusion（潜在扩散模型）里几个机制的 NumPy 玩具实现。

- timestep_embedding：正弦时间嵌入（与 LDM 代码相同的 [cos, sin] 排列）
- cross_attention：多头交叉注意力，图像 token 作查询，文本 token 作键和值
- cfg_combine：无分类器引导的线性组合
- sd_unet_layers / unet_params / unet_macs：按 SD v1 的 UNet 配置逐层列出卷积、
  注意力与线性层，用来数参数量和乘加次数（MAC），比较潜空间与像素空间的计算量
- effective_log_snr：潜变量的尺度如何平移有效信噪比（解释 0.18215 这个缩放因子）
"""
import numpy as np


# ---------------------------------------------------------------- 时间嵌入
def timestep_embedding(t, dim, max_period=10000.0):
    """e(t) = [cos(w_0 t), ..., cos(w_{h-1} t), sin(w_0 t), ..., sin(w_{h-1} t)]，
    w_i = max_period^(-i/h)，h = dim/2。t 可以是标量或一维数组，返回 (len(t), dim)。"""
    assert dim % 2 == 0
    half = dim // 2
    freqs = np.exp(-np.log(max_period) * np.arange(half) / half)
    args = np.atleast_1d(np.asarray(t, float))[:, None] * freqs[None, :]
    return np.concatenate([np.cos(args), np.sin(args)], axis=1)


def rotation_for_shift(delta, dim, max_period=10000.0):
    """满足 e(t + delta) = R(delta) @ e(t) 的分块旋转矩阵（与 t 无关）。"""
    half = dim // 2
    freqs = np.exp(-np.log(max_period) * np.arange(half) / half)
    c, s = np.cos(freqs * delta), np.sin(freqs * delta)
    R = np.zeros((dim, dim))
    i = np.arange(half)
    R[i, i], R[i, i + half] = c, -s              # cos(a+b) = cos a cos b - sin a sin b
    R[i + half, i], R[i + half, i + half] = s, c  # sin(a+b) = sin a cos b + cos a sin b
    return R


# ---------------------------------------------------------------- 交叉注意力
def softmax(a, axis=-1):
    a = a - a.max(axis=axis, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=axis, keepdims=True)


def init_cross_attention(d_model, d_context, rng):
    """W_q: d_model×d_model，W_k, W_v: d_context×d_model（无偏置），W_o: d_model×d_model。"""
    return {"Wq": rng.standard_normal((d_model, d_model)) / np.sqrt(d_model),
            "Wk": rng.standard_normal((d_context, d_model)) / np.sqrt(d_context),
            "Wv": rng.standard_normal((d_context, d_model)) / np.sqrt(d_context),
            "Wo": rng.standard_normal((d_model, d_model)) / np.sqrt(d_model),
            "bo": np.zeros(d_model)}


def cross_attention(x, ctx, p, heads, return_weights=False):
    """x: (N, d_model) 图像 token；ctx: (L, d_context) 文本 token。
    Q = x W_q，K = ctx W_k，V = ctx W_v，每个头 A = softmax(Q K^T / sqrt(d_head))，
    输出 concat_h(A_h V_h) W_o + b_o，形状 (N, d_model)。"""
    N, d = x.shape
    L = ctx.shape[0]
    assert d % heads == 0
    dh = d // heads
    q = (x @ p["Wq"]).reshape(N, heads, dh).transpose(1, 0, 2)     # (h, N, dh)
    k = (ctx @ p["Wk"]).reshape(L, heads, dh).transpose(1, 0, 2)   # (h, L, dh)
    v = (ctx @ p["Wv"]).reshape(L, heads, dh).transpose(1, 0, 2)   # (h, L, dh)
    A = softmax(q @ k.transpose(0, 2, 1) / np.sqrt(dh), axis=-1)   # (h, N, L)
    out = (A @ v).transpose(1, 0, 2).reshape(N, d) @ p["Wo"] + p["bo"]
    return (out, A) if return_weights else out


def cross_attention_loops(x, ctx, p, heads):
    """逐个查询、逐个头的朴素实现，用来核对向量化版本。"""
    N, d = x.shape
    dh = d // heads
    Q, K, V = x @ p["Wq"], ctx @ p["Wk"], ctx @ p["Wv"]
    out = np.zeros((N, d))
    for n in range(N):
        for h in range(heads):
            sl = slice(h * dh, (h + 1) * dh)
            logits = np.array([Q[n, sl] @ K[l, sl] for l in range(ctx.shape[0])]) / np.sqrt(dh)
            w = np.exp(logits - logits.max())
            w /= w.sum()
            out[n, sl] = sum(w[l] * V[l, sl] for l in range(ctx.shape[0]))
    return out @ p["Wo"] + p["bo"]


def cfg_combine(eps_uncond, eps_cond, w):
    """无分类器引导：eps_hat = eps_uncond + w (eps_cond - eps_uncond)。"""
    return eps_uncond + w * (eps_cond - eps_uncond)


# ---------------------------------------------------------------- SD v1 UNet 的层清单
def sd_unet_layers(in_ch=4, out_ch=4, mc=320, mult=(1, 2, 4, 4), n_res=2, attn_ds=(1, 2, 4),
                   heads=8, ctx_dim=768, ctx_len=77):
    """按 SD v1 配置列出 UNet 的所有带参数层。每项是一个元组：
    ('conv', ds, cin, cout, k) | ('linear', ds, din, dout, bias) | ('norm', ch) |
    ('selfattn', ds, ch) | ('crossattn', ds, ch, ctx_len)。ds 是相对潜变量的下采样倍数，
    ds=None 表示与空间位置无关（时间嵌入 MLP）。注意力项只记 QK^T 与 AV 两次矩阵乘（无参数）。"""
    L, temb = [], 4 * mc
    L += [("linear", None, mc, temb, True), ("linear", None, temb, temb, True)]   # 时间嵌入 MLP

    def res(ds, cin, cout):
        L.extend([("norm", cin), ("conv", ds, cin, cout, 3), ("linear", None, temb, cout, True),
                  ("norm", cout), ("conv", ds, cout, cout, 3)])
        if cin != cout:
            L.append(("conv", ds, cin, cout, 1))                     # 跳连上的 1×1 卷积

    def transformer(ds, ch):
        L.extend([("norm", ch), ("conv", ds, ch, ch, 1)])            # GroupNorm + proj_in
        L.extend([("norm", ch), ("linear", ds, ch, ch, False), ("linear", ds, ch, ch, False),
                  ("linear", ds, ch, ch, False), ("selfattn", ds, ch),
                  ("linear", ds, ch, ch, True)])                     # 自注意力
        L.extend([("norm", ch), ("linear", ds, ch, ch, False), ("linear", ds, ctx_dim, ch, False),
                  ("linear", ds, ctx_dim, ch, False), ("crossattn", ds, ch, ctx_len),
                  ("linear", ds, ch, ch, True)])                     # 交叉注意力（K、V 来自文本）
        L.extend([("norm", ch), ("linear", ds, ch, 8 * ch, True), ("linear", ds, 4 * ch, ch, True)])  # GEGLU 前馈
        L.append(("conv", ds, ch, ch, 1))                            # proj_out

    L.append(("conv", 1, in_ch, mc, 3))
    chans, ch, ds = [mc], mc, 1
    for lvl, m in enumerate(mult):                                   # 编码器
        for _ in range(n_res):
            res(ds, ch, m * mc)
            ch = m * mc
            if ds in attn_ds:
                transformer(ds, ch)
            chans.append(ch)
        if lvl != len(mult) - 1:
            L.append(("conv", ds * 2, ch, ch, 3))                    # 步长 2 的下采样卷积
            ds *= 2
            chans.append(ch)
    res(ds, ch, ch); transformer(ds, ch); res(ds, ch, ch)            # 中间块
    for lvl, m in reversed(list(enumerate(mult))):                   # 解码器
        for i in range(n_res + 1):
            skip = chans.pop()
            res(ds, ch + skip, m * mc)
            ch = m * mc
            if ds in attn_ds:
                transformer(ds, ch)
            if lvl and i == n_res:
                ds //= 2
                L.append(("conv", ds, ch, ch, 3))                    # 最近邻上采样后的 3×3 卷积
    L += [("norm", ch), ("conv", 1, ch, out_ch, 3)]
    return L


def unet_params(layers):
    n = 0
    for it in layers:
        if it[0] == "conv":
            _, _, ci, co, k = it
            n += k * k * ci * co + co
        elif it[0] == "linear":
            _, _, di, do, bias = it
            n += di * do + (do if bias else 0)
        elif it[0] == "norm":
            n += 2 * it[1]                                            # GroupNorm / LayerNorm 的缩放与平移
    return n


def unet_macs(layers, h, w):
    """输入潜变量为 h×w 时，一次前向的乘加次数，按类别返回字典。"""
    out = {"conv": 0, "linear": 0, "selfattn": 0, "crossattn": 0}
    for it in layers:
        kind = it[0]
        if kind == "conv":
            _, ds, ci, co, k = it
            out["conv"] += (h // ds) * (w // ds) * k * k * ci * co
        elif kind == "linear":
            _, ds, di, do, _ = it
            out["linear"] += (1 if ds is None else (h // ds) * (w // ds)) * di * do
        elif kind == "selfattn":
            _, ds, ch = it
            n = (h // ds) * (w // ds)
            out["selfattn"] += 2 * n * n * ch                       # QK^T 与 AV
        elif kind == "crossattn":
            _, ds, ch, lc = it
            out["crossattn"] += 2 * (h // ds) * (w // ds) * lc * ch
    return out


# ---------------------------------------------------------------- 噪声日程与潜变量尺度
def sd_schedule(T=1000, beta_start=0.00085, beta_end=0.012):
    """LDM/SD v1 的 "linear" 日程：beta 的平方根线性插值。返回 abar[0..T]，abar[0] = 1。"""
    beta = np.linspace(beta_start ** 0.5, beta_end ** 0.5, T) ** 2
    return np.concatenate([[1.0], np.cumprod(1.0 - beta)])


def effective_log_snr(abar, data_std):
    """数据标准差为 data_std 时，x_t = sqrt(abar) x_0 + sqrt(1-abar) eps 的逐维信噪比的对数。"""
    return np.log(abar * data_std ** 2 / (1.0 - abar))


def main():
    e = timestep_embedding([0, 1, 10, 999], 320)
    print("时间嵌入形状", e.shape, " 每行范数^2 =", np.round((e ** 2).sum(1), 6))
    e = timestep_embedding(np.arange(1000), 320)
    sq = (e ** 2).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * e @ e.T
    np.fill_diagonal(d2, np.inf)
    d_adj = np.linalg.norm(e[1] - e[0])
    print(f"相邻整数步的嵌入距离 {d_adj:.3f}；t = 0..999 中两两距离的最小值 {np.sqrt(d2.min()):.3f}")
    rng = np.random.default_rng(0)
    p = init_cross_attention(320, 768, rng)
    x, ctx = rng.standard_normal((64, 320)), rng.standard_normal((77, 768))
    out, A = cross_attention(x, ctx, p, heads=8, return_weights=True)
    # 行和与 1 的偏差只剩舍入误差（约 1e-16），只打印它是否低于阈值
    print("交叉注意力: x", x.shape, "ctx", ctx.shape, "-> out", out.shape, " 权重", A.shape,
          " 每行和为 1（偏差 < 1e-12）:", bool(np.abs(A.sum(-1) - 1).max() < 1e-12))
    layers = sd_unet_layers()
    print(f"UNet 参数量 {unet_params(layers):,}")
    lat, pix = unet_macs(layers, 64, 64), unet_macs(sd_unet_layers(in_ch=3, out_ch=3), 512, 512)
    for k in lat:
        print(f"  {k:<10} 潜空间 64x64: {lat[k]:.3e}   像素空间 512x512: {pix[k]:.3e}   比值 {pix[k] / lat[k]:.1f}")
    tl, tp = sum(lat.values()), sum(pix.values())
    print(f"  合计        潜空间 {tl:.3e}   像素空间 {tp:.3e}   比值 {tp / tl:.1f}")
    abar = sd_schedule()
    sigma_z = 1 / 0.18215
    lsnr_raw, lsnr = effective_log_snr(abar[-1], sigma_z), effective_log_snr(abar[-1], 1.0)
    print(f"abar_T = {abar[-1]:.5f}；未缩放潜变量(std≈{sigma_z:.2f})在 t=T 的 log SNR = "
          f"{lsnr_raw:.3f}，缩放后 = {lsnr:.3f}，平移 2 log std = {2 * np.log(sigma_z):.3f}")
    corr = lambda l: np.sqrt(np.exp(l) / (1 + np.exp(l)))            # z_T 与 z_0 每一维的相关系数
    print(f"t=T 时 z_T 与 z_0 的相关系数：未缩放 {corr(lsnr_raw):.3f}，缩放后 {corr(lsnr):.3f}")


if __name__ == "__main__":
    main()
