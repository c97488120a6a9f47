"""kimi_vl_toy 的测试：MoE 路由与参数计数、负载均衡、2-D RoPE 的相对位置性质、token 合并与序列打包。"""
import numpy as np
import pytest

from kimi_vl_toy import (attention, balance_loss, balance_loss_logit_grad, block_diag_mask,
                         expert_forward, expert_params, init_moe, load_fractions,
                         loss_free_balancing, measured_active_params, merge_tokens, mlp_projector,
                         moe_forward, moe_param_counts, packed_attention, rope_1d, rope_2d, route,
                         softmax, unmerge_tokens)

RNG = np.random.default_rng(42)


# ------------------------------------------------------------ MoE 路由
@pytest.mark.parametrize("E,k", [(8, 1), (8, 2), (16, 4), (6, 6)])
def test_gates_are_a_distribution_over_the_top_k(E, k):
    moe = init_moe(n_experts=E, k=k)
    x = RNG.standard_normal((500, moe["d"]))
    idx, g, p = route(moe, x)
    assert idx.shape == (500, k) and np.all(g >= 0)
    np.testing.assert_allclose(g.sum(axis=1), 1.0, atol=1e-12)
    assert all(len(set(row)) == k for row in idx)              # k 个不同的专家
    kth = np.sort(p, axis=1)[:, -k]                             # 选中的正是概率最大的 k 个
    assert np.all(np.take_along_axis(p, idx, axis=1) >= kth[:, None] - 1e-15)
    np.testing.assert_allclose(g, np.take_along_axis(p, idx, 1) / np.take_along_axis(p, idx, 1).sum(1, keepdims=True))


def test_moe_forward_matches_per_token_loop_and_dense_limit():
    moe = init_moe(n_experts=6, k=2, n_shared=2)
    x = RNG.standard_normal((40, moe["d"]))
    y, idx, g, _ = moe_forward(moe, x)
    for t in range(len(x)):                                     # 逐 token 的朴素实现
        ref = sum(expert_forward(x[t:t + 1], s) for s in moe["shared"])
        for j in range(moe["k"]):
            ref = ref + g[t, j] * expert_forward(x[t:t + 1], moe["experts"][idx[t, j]])
        np.testing.assert_allclose(y[t], ref[0], atol=1e-12)
    dense = init_moe(n_experts=6, k=6, n_shared=0)              # k = E：退化为按 softmax 加权的稠密混合
    yd, _, _, p = moe_forward(dense, x)
    ref = sum(p[:, [e]] * expert_forward(x, dense["experts"][e]) for e in range(6))
    np.testing.assert_allclose(yd, ref, atol=1e-12)


def test_active_parameter_count():
    for E, k, ns in [(8, 2, 1), (64, 6, 2), (16, 1, 0)]:
        moe = init_moe(d=8, d_e=4, n_experts=E, k=k, n_shared=ns)
        total, active = moe_param_counts(moe)
        pe = expert_params(8, 4)
        assert total == (ns + E) * pe + 8 * E and active == (ns + k) * pe + 8 * E
        x = RNG.standard_normal((300, 8))
        _, idx, _, _ = moe_forward(moe, x)
        assert np.all(measured_active_params(moe, idx) == active)   # 每个 token 恰好用到这么多参数
    # 64 选 6 加 2 个共享专家：专家部分只激活 8/66 ≈ 12%
    moe = init_moe(d=8, d_e=4, n_experts=64, k=6, n_shared=2)
    pe = expert_params(8, 4)
    assert (2 + 6) * pe / ((2 + 64) * pe) == pytest.approx(8 / 66)


# ------------------------------------------------------------ 负载均衡
def test_balance_loss_lower_bound_and_uniform_optimum():
    E, T = 8, 4000
    # f 与 P 都均匀时 L/α = 1
    p = np.full((T, E), 1 / E)
    idx = np.tile(np.arange(E), T // E * 2).reshape(T, 2)
    assert load_fractions(idx, E) == pytest.approx(np.full(E, 1 / E))
    assert balance_loss(p, idx) == pytest.approx(1.0)
    # f = P 时 L/α = E·Σ P_i² ≥ 1（柯西–施瓦茨），不均匀越厉害越大
    for conc in (0.3, 1.0, 5.0):
        P = RNG.dirichlet(np.full(E, conc))
        assert E * P @ P >= 1 - 1e-12
    # 真实路由：塌缩到一个专家时 L/α 接近 E
    moe = init_moe(n_experts=E, k=1)
    x = RNG.standard_normal((500, moe["d"]))
    x[:, 0] = 1.0                                               # 第 0 维当作常数特征（偏置）
    moe["router"][0, 0] += 50.0
    _, idx1, _, p1 = moe_forward(moe, x)
    assert balance_loss(p1, idx1) > 0.9 * E


def test_balance_loss_gradient_formula_and_direction():
    moe = init_moe(n_experts=5, k=2)
    x = RNG.standard_normal((50, moe["d"]))
    z = x @ moe["router"]
    idx, _, p = route(moe, x)
    f = load_fractions(idx, 5)
    L = lambda zz: 5 * f @ softmax(zz).mean(axis=0)              # f 固定（它不可导）
    G = balance_loss_logit_grad(p, f)
    h = 1e-6
    for t, j in [(0, 0), (7, 3), (49, 4)]:
        zp, zm = z.copy(), z.copy()
        zp[t, j] += h
        zm[t, j] -= h
        assert (L(zp) - L(zm)) / (2 * h) == pytest.approx(G[t, j], abs=1e-9)
    # 负载最高的专家：对每个 token，梯度下降都会压低它的 logit
    j = int(np.argmax(f))
    assert np.all(G[:, j] >= 0)


def test_loss_free_bias_balancing_equalizes_load_without_touching_gates():
    moe = init_moe(seed=1)
    x = RNG.standard_normal((2000, moe["d"]))
    x[:, 0] = 1.0
    moe["router"][0, 0] += 1.0
    ratios, bias = loss_free_balancing(moe, x)
    assert ratios[0] > 1.5 and ratios[-1] < 1.1
    assert bias[0] == bias.min()                                  # 被偏爱的专家得到最小的偏置
    idx_b, g_b, p = route(moe, x, bias)
    np.testing.assert_allclose(g_b, np.take_along_axis(p, idx_b, 1) / np.take_along_axis(p, idx_b, 1).sum(1, keepdims=True))


# ------------------------------------------------------------ 2-D RoPE
def test_rope_2d_score_depends_only_on_offset():
    D = 32
    for _ in range(20):
        q, k = RNG.standard_normal(D), RNG.standard_normal(D)
        h1, w1, h2, w2 = RNG.integers(0, 64, 4)
        a, b = RNG.integers(-100, 100, 2)
        s = rope_2d(q, h1, w1) @ rope_2d(k, h2, w2)
        s_shift = rope_2d(q, h1 + a, w1 + b) @ rope_2d(k, h2 + a, w2 + b)
        s_rel = q @ rope_2d(k, h2 - h1, w2 - w1)                   # R(h1,w1)^T R(h2,w2) = R(Δh,Δw)
        assert s == pytest.approx(s_shift, abs=1e-10) and s == pytest.approx(s_rel, abs=1e-10)


def test_rope_is_orthogonal_and_reduces_to_1d():
    D = 16
    x = RNG.standard_normal(D)
    for h, w in [(0, 0), (3, 9), (120, 7)]:
        assert np.linalg.norm(rope_2d(x, h, w)) == pytest.approx(np.linalg.norm(x), rel=1e-12)
    np.testing.assert_allclose(rope_2d(x, 0, 0), x)
    # 每 4 维一组：前 2 维（偶数号维度对）按列号、后 2 维（奇数号维度对）按行号，各自就是一维 RoPE
    col = np.arange(D).reshape(-1, 4)[:, :2].ravel()
    row = np.arange(D).reshape(-1, 4)[:, 2:].ravel()
    y = rope_2d(x, 5, 11)
    np.testing.assert_allclose(y[row], rope_1d(x[row], 5))
    np.testing.assert_allclose(y[col], rope_1d(x[col], 11))


def test_rope_2d_matches_moonvit_complex_layout():
    # 按 MoonViT 的 Rope2DPosEmb 构造复数频率表：第 2i 个复数对用列号 w、第 2i+1 个用行号 h，频率 base^{-4i/D}
    D = 16
    freqs = 1.0 / 10000.0 ** (np.arange(0, D, 4)[:D // 4] / D)
    x = RNG.standard_normal(D)
    for h in range(3):
        for w in range(5):
            cis = np.stack([np.exp(1j * w * freqs), np.exp(1j * h * freqs)], axis=-1).ravel()
            z = (x[0::2] + 1j * x[1::2]) * cis
            np.testing.assert_allclose(rope_2d(x, h, w), np.stack([z.real, z.imag], axis=-1).ravel(), atol=1e-12)


def test_flattened_1d_rope_depends_on_image_width_but_2d_does_not():
    q, k = RNG.standard_normal(16), RNG.standard_normal(16)
    scores_1d = [rope_1d(q, 3 * W + 5) @ rope_1d(k, 7 * W + 2) for W in (8, 16, 32)]
    assert np.ptp(scores_1d) > 0.1
    scores_2d = [rope_2d(q, 3, 5) @ rope_2d(k, 7, 2) for W in (8, 16, 32)]
    assert np.ptp(scores_2d) == 0.0


# ------------------------------------------------------------ token 合并与投影
def test_merge_tokens_is_a_lossless_4x_reduction():
    for H, W in [(64, 64), (96, 32), (2, 6)]:
        feat = RNG.standard_normal((H, W, 5))
        t = merge_tokens(feat)
        assert t.shape == (H * W // 4, 20)
        np.testing.assert_array_equal(unmerge_tokens(t, H, W), feat)
        # 第 (i, j) 个合并 token 恰好由 2×2 邻域 feat[2i:2i+2, 2j:2j+2] 组成
        i, j = H // 2 - 1, W // 2 - 1
        np.testing.assert_array_equal(t[i * (W // 2) + j], feat[2 * i:2 * i + 2, 2 * j:2 * j + 2].ravel())
    y = mlp_projector(t, RNG.standard_normal((20, 32)), RNG.standard_normal((32, 48)))
    assert y.shape == (t.shape[0], 48)


# ------------------------------------------------------------ 序列打包
def test_packed_attention_equals_separate_attention():
    C = 8
    Wq, Wk, Wv = (RNG.standard_normal((C, C)) for _ in range(3))
    imgs = [RNG.standard_normal((n, C)) for n in (5, 12, 1, 7)]
    packed = packed_attention(imgs, Wq, Wk, Wv)
    separate = np.concatenate([attention(im @ Wq, im @ Wk, im @ Wv) for im in imgs])
    np.testing.assert_allclose(packed, separate, atol=1e-12)
    m = block_diag_mask([2, 3])
    assert m.sum() == 2 * 2 + 3 * 3 and not m[0, 2]
    x = np.concatenate(imgs)
    unmasked = attention(x @ Wq, x @ Wk, x @ Wv)
    assert np.abs(unmasked - separate).max() > 0.1              # 不加掩码：不同图像互相"看见"
