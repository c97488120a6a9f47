"""sd_latent_toy 的测试：时间嵌入的代数性质、交叉注意力的形状与对称性、UNet 参数量与计算量。"""
import numpy as np

from sd_latent_toy import (cfg_combine, cross_attention, cross_attention_loops, effective_log_snr,
                           init_cross_attention, rotation_for_shift, sd_schedule, sd_unet_layers,
                           timestep_embedding, unet_macs, unet_params)


# ------------------------------------------------------------ 正弦时间嵌入
def test_embedding_norm_and_inner_product_depend_only_on_difference():
    dim, half = 320, 160
    t = np.array([0.0, 3.0, 250.0, 999.0])
    e = timestep_embedding(t, dim)
    assert e.shape == (4, dim)
    np.testing.assert_allclose((e ** 2).sum(1), half, rtol=1e-12)        # cos^2 + sin^2 = 1，共 half 对
    freqs = np.exp(-np.log(10000.0) * np.arange(half) / half)
    for a in t:
        for b in t:
            ip = timestep_embedding(a, dim)[0] @ timestep_embedding(b, dim)[0]
            np.testing.assert_allclose(ip, np.cos(freqs * (a - b)).sum(), atol=1e-9)


def test_shift_is_a_fixed_rotation():
    dim = 64
    for delta in (1.0, 17.0, 400.0):
        R = rotation_for_shift(delta, dim)
        np.testing.assert_allclose(R @ R.T, np.eye(dim), atol=1e-12)     # 正交矩阵
        for t in (0.0, 5.0, 123.0, 900.0):
            np.testing.assert_allclose(R @ timestep_embedding(t, dim)[0],
                                       timestep_embedding(t + delta, dim)[0], atol=1e-9)


def test_integer_timesteps_are_well_separated():
    e = timestep_embedding(np.arange(1000), 320)
    sq = (e ** 2).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * e @ e.T
    np.fill_diagonal(d2, np.inf)
    dmin = np.sqrt(d2.min())
    # 相邻整数步之间距离的下界：||e(t+1)-e(t)||^2 = sum_i 2(1-cos w_i) 与 t 无关
    freqs = np.exp(-np.log(10000.0) * np.arange(160) / 160)
    d_adj = np.sqrt((2 * (1 - np.cos(freqs))).sum())
    np.testing.assert_allclose(np.linalg.norm(e[1] - e[0]), d_adj, rtol=1e-12)
    # 1000 个整数步里，任意两步的距离都不小于相邻两步的距离（最小值恰好取在相邻步上）
    assert abs(dmin - d_adj) < 1e-9 and d_adj > 2.9


# ------------------------------------------------------------ 交叉注意力
def setup(n=16, L=77, d=64, dc=48, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)), rng.standard_normal((L, dc)),
            init_cross_attention(d, dc, rng), rng)


def test_cross_attention_matches_naive_loops_and_rows_are_distributions():
    x, ctx, p, _ = setup()
    out, A = cross_attention(x, ctx, p, heads=4, return_weights=True)
    np.testing.assert_allclose(out, cross_attention_loops(x, ctx, p, heads=4), atol=1e-10)
    assert A.shape == (4, 16, 77) and np.all(A >= 0)
    np.testing.assert_allclose(A.sum(-1), 1.0, atol=1e-12)


def test_sd_sized_shapes():
    rng = np.random.default_rng(1)
    p = init_cross_attention(320, 768, rng)
    x = rng.standard_normal((64 * 64, 320))                  # 64×64 潜变量的第一层，320 通道
    ctx = rng.standard_normal((77, 768))                     # CLIP ViT-L/14 文本编码：77 个 token，768 维
    out, A = cross_attention(x, ctx, p, heads=8, return_weights=True)
    assert out.shape == (4096, 320) and A.shape == (8, 4096, 77)
    np.testing.assert_allclose(A.sum(-1), 1.0, atol=1e-12)


def test_invariant_to_text_token_order_equivariant_to_image_token_order():
    x, ctx, p, rng = setup(seed=2)
    out = cross_attention(x, ctx, p, heads=4)
    perm_c = rng.permutation(ctx.shape[0])
    np.testing.assert_allclose(cross_attention(x, ctx[perm_c], p, heads=4), out, atol=1e-12)
    perm_x = rng.permutation(x.shape[0])
    np.testing.assert_allclose(cross_attention(x[perm_x], ctx, p, heads=4), out[perm_x], atol=1e-12)


def test_identical_text_tokens_give_query_independent_output():
    x, ctx, p, _ = setup(seed=3)
    same = np.repeat(ctx[:1], ctx.shape[0], axis=0)
    out = cross_attention(x, same, p, heads=4)
    np.testing.assert_allclose(out, np.broadcast_to((ctx[0] @ p["Wv"]) @ p["Wo"] + p["bo"], out.shape),
                               atol=1e-12)


def test_cfg_endpoints_and_extrapolation():
    rng = np.random.default_rng(4)
    eu, ec = rng.standard_normal(10), rng.standard_normal(10)
    np.testing.assert_allclose(cfg_combine(eu, ec, 0.0), eu)
    np.testing.assert_allclose(cfg_combine(eu, ec, 1.0), ec)
    np.testing.assert_allclose(cfg_combine(eu, ec, 7.5) - ec, 6.5 * (ec - eu), atol=1e-12)


# ------------------------------------------------------------ UNet 参数量与计算量
def test_unet_parameter_count_matches_sd_v1():
    # SD v1 的 UNet（LDM 训练日志中的 "859.52 M params"）
    assert unet_params(sd_unet_layers()) == 859_520_964


def test_latent_vs_pixel_cost():
    assert (512 * 512 * 3) / (64 * 64 * 4) == 48.0                           # 维数之比
    layers = sd_unet_layers()
    lat, pix = unet_macs(layers, 64, 64), unet_macs(layers, 512, 512)
    assert pix["conv"] == 64 * lat["conv"]                                     # 与空间面积成正比
    assert pix["crossattn"] == 64 * lat["crossattn"]                           # 与 token 数成正比
    assert pix["selfattn"] == 4096 * lat["selfattn"]                           # 与 token 数平方成正比
    ratio = sum(pix.values()) / sum(lat.values())
    assert 600 < ratio < 700
    assert 4.1e11 < sum(lat.values()) < 4.3e11


def test_latent_scale_shifts_log_snr_by_2_log_std():
    abar = sd_schedule()
    assert abs(abar[-1] - 0.00466) < 5e-5
    s = 1 / 0.18215
    shift = effective_log_snr(abar[1:], s) - effective_log_snr(abar[1:], 1.0)
    np.testing.assert_allclose(shift, 2 * np.log(s), rtol=1e-12)
    # 未缩放时，t = T 的 x_T 与 x_0 的相关系数 sqrt(SNR/(1+SNR)) 仍有约 0.35
    snr = np.exp(effective_log_snr(abar[-1], s))
    assert 0.34 < np.sqrt(snr / (1 + snr)) < 0.36
    # 估计缩放因子：1 / 潜变量标准差
    z = np.random.default_rng(5).standard_normal((8, 4, 64, 64)) * s
    assert abs(1 / z.std() - 0.18215) < 0.002
