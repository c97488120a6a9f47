"""sd3_mmdit_toy 的测试：logit-normal 密度与采样、时间平移、RF 换算、文本拼接、MMDiT 块的性质。"""
import numpy as np
import pytest

from sd3_mmdit_toy import (attention_entropy, combine_text_embeddings, constant_image_estimate_std,
                           cropped_pos_embed, eps_x0_from_velocity, init_stream, ks_statistic,
                           logit, logit_normal_cdf, logit_normal_pdf, mmdit_block, rms_norm,
                           mmdit_param_estimate, patchify, pos_embed_2d, rf_interpolate, rf_target,
                           sample_logit_normal, shift_time, single_stream_block, unpatchify)

KS_CRIT_1PCT = 1.628     # 单样本 KS 检验 1% 显著性水平的渐近临界值（乘以 1/sqrt(n)）


# ------------------------------------------------------------ logit-normal
@pytest.mark.parametrize("m,s", [(0.0, 1.0), (0.5, 0.6), (-0.5, 1.5)])
def test_pdf_integrates_to_one_and_is_derivative_of_cdf(m, s):
    u = np.linspace(-12, 12, 200_001)                      # 在 logit 空间取网格，端点处也积得准
    t = 1 / (1 + np.exp(-u))
    integrand = logit_normal_pdf(t, m, s) * t * (1 - t)   # dt = t (1 - t) du
    assert abs(np.trapezoid(integrand, u) - 1) < 1e-8
    tt = np.linspace(0.01, 0.99, 99)
    h = 1e-6
    fd = (logit_normal_cdf(tt + h, m, s) - logit_normal_cdf(tt - h, m, s)) / (2 * h)
    # 尾部密度极小，差分受舍入误差影响，所以再加一个绝对容差
    np.testing.assert_allclose(logit_normal_pdf(tt, m, s), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("m,s", [(0.0, 1.0), (0.5, 0.6)])
def test_samples_follow_the_density(m, s):
    n = 200_000
    t = sample_logit_normal(n, np.random.default_rng(0), m, s)
    assert np.all((t > 0) & (t < 1))
    assert ks_statistic(t, lambda x: logit_normal_cdf(x, m, s)) < KS_CRIT_1PCT / np.sqrt(n)
    # 分箱频率与密度积分的比较（卡方检验，20 箱，自由度 19，1% 临界值 36.19）
    edges = np.linspace(0, 1, 21)
    expected = n * np.diff(logit_normal_cdf(np.clip(edges, 1e-12, 1 - 1e-12), m, s))
    observed = np.histogram(t, edges)[0]
    assert ((observed - expected) ** 2 / expected).sum() < 36.19
    # logit t 的均值与方差（4 个标准误）
    u = logit(t)
    assert abs(u.mean() - m) < 4 * s / np.sqrt(n)
    assert abs(u.var() - s * s) < 4 * s * s * np.sqrt(2 / n)


# ------------------------------------------------------------ 时间平移
def test_shift_properties():
    t = np.linspace(0, 1, 1001)
    for alpha in (0.5, 2.0, 3.0):
        ts = shift_time(t, alpha)
        assert ts[0] == 0 and ts[-1] == 1 and np.all(np.diff(ts) > 0)
        np.testing.assert_allclose(shift_time(ts, 1 / alpha), t, atol=1e-12)       # 逆变换
        inner = t[1:-1]
        np.testing.assert_allclose(logit(shift_time(inner, alpha)), logit(inner) + np.log(alpha), atol=1e-9)
        # 噪声与信号之比 t/(1-t) 被乘以 alpha
        np.testing.assert_allclose(ts[1:-1] / (1 - ts[1:-1]), alpha * inner / (1 - inner), rtol=1e-9)
    assert np.all(shift_time(t[1:-1], 3.0) > t[1:-1])                              # alpha > 1：整体偏向噪声端


def test_shifted_logit_normal_is_logit_normal_with_shifted_mean():
    n = 200_000
    ts = shift_time(sample_logit_normal(n, np.random.default_rng(1)), 3.0)
    assert ks_statistic(ts, lambda x: logit_normal_cdf(x, np.log(3.0), 1.0)) < KS_CRIT_1PCT / np.sqrt(n)
    assert abs(np.median(ts) - 0.75) < 0.005                                       # sigmoid(log 3) = 3/4


def test_constant_image_argument_for_the_shift():
    rng = np.random.default_rng(2)
    trials = 20_000
    for tn in (0.3, 0.5, 0.8):
        theory = tn / ((1 - tn) * np.sqrt(16))
        tm = float(shift_time(tn, np.sqrt(64 / 16)))
        for t, npix in ((tn, 16), (tm, 64)):
            est = constant_image_estimate_std(t, npix, rng, trials)
            assert abs(est / theory - 1) < 4 / np.sqrt(2 * trials)                # 标准差的相对标准误约 1/sqrt(2N)


# ------------------------------------------------------------ Rectified Flow
def test_rf_endpoints_and_velocity_to_noise_conversion():
    rng = np.random.default_rng(3)
    x0, eps = rng.standard_normal(50), rng.standard_normal(50)
    np.testing.assert_allclose(rf_interpolate(x0, eps, 0.0), x0)
    np.testing.assert_allclose(rf_interpolate(x0, eps, 1.0), eps)
    for t in (0.1, 0.5, 0.9):
        z = rf_interpolate(x0, eps, t)
        h = 1e-6                                                                    # dz/dt 的有限差分
        np.testing.assert_allclose((rf_interpolate(x0, eps, t + h) - rf_interpolate(x0, eps, t - h)) / (2 * h),
                                   rf_target(x0, eps), atol=1e-8)
        e_true, x_true = eps_x0_from_velocity(z, rf_target(x0, eps), t)
        np.testing.assert_allclose(e_true, eps, atol=1e-12)
        np.testing.assert_allclose(x_true, x0, atol=1e-12)
        v_hat = rf_target(x0, eps) + rng.standard_normal(50)                        # 一个有误差的预测
        e_hat, _ = eps_x0_from_velocity(z, v_hat, t)
        np.testing.assert_allclose(e_hat - eps, (1 - t) * (v_hat - rf_target(x0, eps)), atol=1e-12)


# ------------------------------------------------------------ 文本编码与参数量
def test_text_embedding_layout():
    rng = np.random.default_rng(4)
    l, g, t5 = rng.standard_normal((77, 768)), rng.standard_normal((77, 1280)), rng.standard_normal((77, 4096))
    ctx, pooled = combine_text_embeddings(l, g, t5, rng.standard_normal(768), rng.standard_normal(1280))
    assert ctx.shape == (154, 4096) and pooled.shape == (2048,)
    assert np.all(ctx[:77, 2048:] == 0)                                             # CLIP 部分补零
    np.testing.assert_array_equal(ctx[:77, :768], l)
    np.testing.assert_array_equal(ctx[77:], t5)
    ctx0, _ = combine_text_embeddings(l, g, np.zeros((77, 4096)), np.zeros(768), np.zeros(1280))
    assert np.all(ctx0[77:] == 0)                                                   # 去掉 T5 = 用零代替
    assert abs(0.463 ** 3 - 0.0993) < 1e-4                                           # 三个编码器同时被丢弃的概率


def test_parameter_estimate_matches_reported_sizes():
    assert 7.9e9 < mmdit_param_estimate(38) < 8.3e9                                 # 论文最大模型约 8B
    assert 1.9e9 < mmdit_param_estimate(24) < 2.2e9                                 # SD3 Medium 约 2B


# ------------------------------------------------------------ MMDiT 块
def make_block(seed=5, D=32, heads=4, nx=12, nc=5, zero_mod=False):
    rng = np.random.default_rng(seed)
    px, pc = init_stream(D, rng, zero_mod), init_stream(D, rng, zero_mod)
    return (rng.standard_normal((nx, D)), rng.standard_normal((nc, D)), rng.standard_normal(D),
            px, pc, heads, rng)


def test_shapes_and_attention_rows():
    x, c, y, px, pc, heads, _ = make_block()
    xo, co, A = mmdit_block(x, c, y, px, pc, heads, return_attn=True)
    assert xo.shape == x.shape and co.shape == c.shape and A.shape == (heads, 17, 17)
    np.testing.assert_allclose(A.sum(-1), 1.0, atol=1e-12)


def test_shared_weights_reduce_to_single_stream_dit_block():
    x, c, y, px, _, heads, _ = make_block()
    xo, co = mmdit_block(x, c, y, px, px, heads)
    ref = single_stream_block(np.concatenate([c, x]), y, px, heads)
    np.testing.assert_allclose(np.concatenate([co, xo]), ref, atol=1e-12)


def test_separate_weights_matter_and_information_flows_both_ways():
    x, c, y, px, pc, heads, rng = make_block()
    xo, co = mmdit_block(x, c, y, px, pc, heads)
    xs, cs = mmdit_block(x, c, y, px, px, heads)
    assert np.abs(co - cs).max() > 0.1                       # 文本流用的是自己的权重
    c2 = c + rng.standard_normal(c.shape)
    assert np.abs(mmdit_block(x, c2, y, px, pc, heads)[0] - xo).max() > 1e-2   # 文本 -> 图像
    x2 = x + rng.standard_normal(x.shape)
    assert np.abs(mmdit_block(x2, c, y, px, pc, heads)[1] - co).max() > 1e-2   # 图像 -> 文本


def test_adaln_zero_block_is_identity():
    x, c, y, px, pc, heads, _ = make_block(zero_mod=True)
    xo, co = mmdit_block(x, c, y, px, pc, heads)
    np.testing.assert_array_equal(xo, x)
    np.testing.assert_array_equal(co, c)


def test_permutation_equivariance_within_each_modality():
    x, c, y, px, pc, heads, rng = make_block()
    xo, co = mmdit_block(x, c, y, px, pc, heads)
    pxm, pcm = rng.permutation(len(x)), rng.permutation(len(c))
    xo2, co2 = mmdit_block(x[pxm], c[pcm], y, px, pc, heads)
    np.testing.assert_allclose(xo2, xo[pxm], atol=1e-12)
    np.testing.assert_allclose(co2, co[pcm], atol=1e-12)


def test_qk_norm_bounds_logits_and_prevents_entropy_collapse():
    x, c, y, px, pc, heads, _ = make_block()
    dh = x.shape[1] // heads
    big_x, big_c = dict(px), dict(pc)
    for p, q in ((big_x, px), (big_c, pc)):                  # 只放大 q、k 的投影，模拟训练中 logits 的增长
        W = q["Wqkv"].copy()
        W[:, :2 * x.shape[1]] *= 30.0
        p["Wqkv"] = W
    A_norm = mmdit_block(x, c, y, px, pc, heads, qk_norm=True, return_attn=True)[2]
    A_norm_big = mmdit_block(x, c, y, big_x, big_c, heads, qk_norm=True, return_attn=True)[2]
    # RMSNorm 对尺度不变，只有分母里的 eps = 1e-6 带来约 1e-6 量级的差别
    np.testing.assert_allclose(A_norm_big, A_norm, atol=1e-5)
    A_raw = mmdit_block(x, c, y, px, pc, heads, qk_norm=False, return_attn=True)[2]
    A_raw_big = mmdit_block(x, c, y, big_x, big_c, heads, qk_norm=False, return_attn=True)[2]
    assert attention_entropy(A_raw_big) < 0.1 < attention_entropy(A_raw)         # 不归一化：熵坍缩
    assert attention_entropy(A_norm_big) > 1.0
    # 归一化后 |q.k|/sqrt(d) <= ||q|| ||k|| / sqrt(d) = sqrt(d)（增益为 1 时）
    rng = np.random.default_rng(6)
    q, k = rms_norm(1e3 * rng.standard_normal((50, dh)), np.ones(1)), rms_norm(rng.standard_normal((50, dh)), np.ones(1))
    assert np.abs(q @ k.T / np.sqrt(dh)).max() <= np.sqrt(dh) + 1e-9


# ------------------------------------------------------------ 位置编码与分块
def test_cropped_position_table_equals_offset_grid_and_is_relative():
    dim, S = 32, 12
    table = pos_embed_2d(dim, S, S)
    for h, w in ((12, 12), (6, 10), (4, 4)):
        top, left = (S - h) // 2, (S - w) // 2
        np.testing.assert_allclose(cropped_pos_embed(table, S, h, w), pos_embed_2d(dim, h, w, top, left), atol=1e-12)
    e = table.reshape(S, S, dim)
    # 同一位移的两对位置，编码的内积相同（正弦编码的平移不变性）
    np.testing.assert_allclose(e[1, 2] @ e[4, 7], e[5, 1] @ e[8, 6], atol=1e-12)


def test_patchify_roundtrip_and_token_count():
    z = np.random.default_rng(7).standard_normal((16, 128, 128))    # 1024×1024 图像的 16 通道 latent
    tok = patchify(z)
    assert tok.shape == (4096, 64)
    np.testing.assert_array_equal(unpatchify(tok, 16, 128, 128), z)
    np.testing.assert_array_equal(tok[0].reshape(2, 2, 16)[1, 0], z[:, 1, 0])     # 第一个 patch 的 (1,0) 像素
