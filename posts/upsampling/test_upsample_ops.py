"""upsample_ops 的测试：伴随关系、尺寸公式、重叠计数、PixelShuffle 的可逆性、与 PyTorch 的一致性。"""
import numpy as np
import pytest

from upsample_ops import (bilinear_kernel, conv2d, conv_matrix, conv_out_size, conv_transpose2d,
                          conv_transpose_out_size, icnr_init, interpolation_matrix,
                          max_pool2d_with_indices, max_unpool2d, overlap_count, overlap_count_1d,
                          pixel_shuffle, pixel_unshuffle, subpixel_conv,
                          subpixel_weights_from_transpose, upsample_bilinear, upsample_nearest)

RNG = np.random.default_rng(0)
EPS = 1e-12   # 双精度下若干十到几百项求和的舍入误差远小于此


# ------------------------------------------------------------ 转置卷积 = 卷积的伴随
@pytest.mark.parametrize("k,s,p,H", [(3, 1, 1, 6), (3, 2, 1, 7), (4, 2, 1, 8), (5, 3, 2, 11), (2, 2, 0, 6)])
def test_transposed_conv_is_adjoint_of_conv(k, s, p, H):
    x = RNG.standard_normal((2, H, H))
    w = RNG.standard_normal((3, 2, k, k))
    Ho = conv_out_size(H, k, s, p)
    y = RNG.standard_normal((3, Ho, Ho))
    op = H - conv_transpose_out_size(Ho, k, s, p)       # 用 output_padding 恢复原尺寸
    assert 0 <= op < s
    lhs = np.sum(conv2d(x, w, s, p) * y)
    rhs = np.sum(x * conv_transpose2d(y, w, s, p, op))
    assert abs(lhs - rhs) < EPS * max(1.0, abs(lhs)) * 100
    # 与显式矩阵的转置逐元素一致
    C = conv_matrix(w, x.shape, s, p)
    np.testing.assert_allclose(C.T @ y.ravel(), conv_transpose2d(y, w, s, p, op).ravel(), atol=1e-12)
    np.testing.assert_allclose(C @ x.ravel(), conv2d(x, w, s, p).ravel(), atol=1e-12)


def test_transposed_conv_is_the_input_gradient_of_conv():
    # L = <conv(x), G>  =>  dL/dx = conv_transpose(G)：用有限差分核对几个分量
    x = RNG.standard_normal((1, 6, 6))
    w = RNG.standard_normal((2, 1, 3, 3))
    G = RNG.standard_normal((2, 3, 3))
    grad = conv_transpose2d(G, w, 2, 1, output_padding=1)
    h = 1e-6
    for idx in [(0, 0, 0), (0, 2, 3), (0, 5, 5)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        num = (np.sum(conv2d(xp, w, 2, 1) * G) - np.sum(conv2d(xm, w, 2, 1) * G)) / (2 * h)
        assert num == pytest.approx(grad[idx], abs=1e-8)


def test_output_size_formula_and_output_padding_ambiguity():
    k, s, p = 3, 2, 1
    for H in range(5, 20):
        Ho = conv_out_size(H, k, s, p)
        base = conv_transpose_out_size(Ho, k, s, p)
        assert base <= H < base + s                       # 同一个 Ho 对应 s 个可能的 H
        y = np.zeros((1, Ho, Ho))
        assert conv_transpose2d(y, np.ones((1, 1, k, k)), s, p, H - base).shape == (1, H, H)


# ------------------------------------------------------------ 棋盘格
@pytest.mark.parametrize("k,s", [(3, 2), (4, 2), (5, 2), (4, 3), (6, 3), (3, 1)])
def test_overlap_counts_and_checkerboard(k, s):
    phases = overlap_count_1d(k, s)
    assert phases.sum() == k                              # 每个核位置恰属于一个相位
    assert set(phases) <= {k // s, -(-k // s)}            # 只取 ⌊k/s⌋ 或 ⌈k/s⌉
    n_in = 8
    cnt = overlap_count(n_in, k, s)
    lo, hi = s * k, s * k + 2 * s                         # 内部区域、从相位 0 开始
    block = cnt[lo:hi, lo:hi]
    expect = np.outer(np.tile(phases, 2), np.tile(phases, 2))
    np.testing.assert_array_equal(block, expect)          # 二维计数 = 两个一维计数之积
    assert (block.max() == block.min()) == (k % s == 0)   # 均匀 ⇔ s 整除 k


# ------------------------------------------------------------ PixelShuffle
def test_pixel_shuffle_index_map_and_inverse():
    r, C, H, W = 3, 2, 4, 5
    x = RNG.standard_normal((C * r * r, H, W))
    y = pixel_shuffle(x, r)
    assert y.shape == (C, H * r, W * r)
    for c, h, w, i, j in [(0, 0, 0, 0, 0), (1, 3, 4, 2, 1), (0, 2, 1, 1, 2)]:
        assert y[c, h * r + i, w * r + j] == x[c * r * r + i * r + j, h, w]
    np.testing.assert_array_equal(pixel_unshuffle(y, r), x)
    np.testing.assert_array_equal(pixel_shuffle(pixel_unshuffle(y, r), r), y)
    # 置换矩阵：转置即逆，因此也保持内积
    z = RNG.standard_normal(y.shape)
    assert np.sum(y * z) == pytest.approx(np.sum(x * pixel_unshuffle(z, r)), rel=1e-12)


@pytest.mark.parametrize("r,k", [(2, 1), (2, 2), (3, 2)])
def test_subpixel_convolution_equals_strided_transposed_convolution(r, k):
    w_t = RNG.standard_normal((3, 2, k * r, k * r))
    y = RNG.standard_normal((3, 5, 4))
    a = conv_transpose2d(y, w_t, stride=r)
    b = subpixel_conv(y, subpixel_weights_from_transpose(w_t, r), r)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_icnr_init_gives_no_checkerboard_on_constant_input():
    r = 2
    w_base = RNG.standard_normal((3, 4, 3, 3))
    y = np.ones((4, 6, 6))
    out_icnr = subpixel_conv(y, icnr_init(w_base, r), r)[:, 2 * r:-2 * r, 2 * r:-2 * r]
    # ICNR：各相位相同 -> 常数输入的内部输出在空间上是常数
    assert np.ptp(out_icnr, axis=(1, 2)).max() < 1e-12
    out_rand = subpixel_conv(y, RNG.standard_normal((12, 4, 3, 3)), r)[:, 2 * r:-2 * r, 2 * r:-2 * r]
    assert np.ptp(out_rand, axis=(1, 2)).min() > 0.1      # 随机初始化：周期为 r 的棋盘格


# ------------------------------------------------------------ 插值
def test_bilinear_align_corners_semantics():
    v = np.array([[[0.0, 1.0, 2.0, 3.0]]])
    t = upsample_bilinear(v, (1, 8), align_corners=True)[0, 0]
    f = upsample_bilinear(v, (1, 8), align_corners=False)[0, 0]
    np.testing.assert_allclose(t, np.linspace(0, 3, 8))  # 角点对齐：端点重合、等距
    np.testing.assert_allclose(f, [0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3])  # 半像素中心，两端截断
    for n_in, n_out in [(4, 8), (5, 13), (7, 3)]:         # 插值矩阵每行和为 1（保常数）
        for ac in (True, False):
            np.testing.assert_allclose(interpolation_matrix(n_in, n_out, ac).sum(axis=1), 1.0)


def test_fcn_bilinear_kernel_transposed_conv_equals_bilinear_interior():
    img = RNG.standard_normal((1, 6, 6))
    up_t = conv_transpose2d(img, bilinear_kernel(2)[None, None], stride=2, padding=1)
    up_b = upsample_bilinear(img, (12, 12), align_corners=False)
    np.testing.assert_allclose(up_t[0, 1:-1, 1:-1], up_b[0, 1:-1, 1:-1], atol=1e-12)
    np.testing.assert_allclose(bilinear_kernel(2)[0], [.0625, .1875, .1875, .0625])


def test_nearest_upsampling_is_adjoint_of_sum_pooling():
    x = RNG.standard_normal((2, 3, 4))
    z = RNG.standard_normal((2, 6, 8))
    up = upsample_nearest(x, (6, 8))
    sum_pool = z.reshape(2, 3, 2, 4, 2).sum(axis=(2, 4))
    assert np.sum(up * z) == pytest.approx(np.sum(x * sum_pool), rel=1e-12)


# ------------------------------------------------------------ 反池化
def test_max_unpool_properties():
    x = np.abs(RNG.standard_normal((3, 6, 8)))   # ReLU 之后的特征非负；负的最大值会被反池化补的 0 盖过
    pooled, idx = max_pool2d_with_indices(x)
    un = max_unpool2d(pooled, idx, (6, 8))
    assert np.count_nonzero(un) == pooled.size
    np.testing.assert_array_equal(un[un != 0], x[un != 0])                # 最大值回到原位
    np.testing.assert_array_equal(max_pool2d_with_indices(un)[0], pooled)  # pool ∘ unpool ∘ pool = pool
    # 固定下标时，池化是选择矩阵 S，反池化是 S^T
    z = RNG.standard_normal(pooled.shape)
    sel = np.take_along_axis(x.reshape(3, -1), idx.reshape(3, -1), axis=1).reshape(pooled.shape)
    assert np.sum(sel * z) == pytest.approx(np.sum(x * max_unpool2d(z, idx, (6, 8))), rel=1e-12)


# ------------------------------------------------------------ 与 PyTorch 对照
torch = pytest.importorskip("torch")
F = torch.nn.functional


def T(a):
    return torch.from_numpy(np.ascontiguousarray(a))[None]   # 加上 batch 维，float64


def test_agrees_with_torch_conv_transpose_and_pixel_shuffle():
    w = RNG.standard_normal((3, 2, 4, 4))
    y = RNG.standard_normal((3, 5, 5))
    for s, p, op in [(2, 1, 0), (2, 1, 1), (3, 0, 2), (1, 0, 0)]:
        ref = F.conv_transpose2d(T(y), torch.from_numpy(w), stride=s, padding=p, output_padding=op)[0]
        np.testing.assert_allclose(conv_transpose2d(y, w, s, p, op), ref.numpy(), atol=1e-12)
    x = RNG.standard_normal((12, 3, 4))
    np.testing.assert_array_equal(pixel_shuffle(x, 2), F.pixel_shuffle(T(x), 2)[0].numpy())
    z = RNG.standard_normal((3, 6, 8))
    np.testing.assert_array_equal(pixel_unshuffle(z, 2), F.pixel_unshuffle(T(z), 2)[0].numpy())


@pytest.mark.parametrize("size", [(8, 10), (7, 13), (3, 5)])
def test_agrees_with_torch_interpolate(size):
    x = RNG.standard_normal((2, 4, 5))
    for ac in (True, False):
        ref = F.interpolate(T(x), size=size, mode="bilinear", align_corners=ac)[0].numpy()
        np.testing.assert_allclose(upsample_bilinear(x, size, ac), ref, atol=1e-12)
    np.testing.assert_array_equal(upsample_nearest(x, size),
                                  F.interpolate(T(x), size=size, mode="nearest")[0].numpy())
    np.testing.assert_array_equal(upsample_nearest(x, size, exact=True),
                                  F.interpolate(T(x), size=size, mode="nearest-exact")[0].numpy())


def test_agrees_with_torch_max_unpool():
    x = RNG.standard_normal((3, 6, 8))
    out, idx = F.max_pool2d(T(x), 2, return_indices=True)
    mine_out, mine_idx = max_pool2d_with_indices(x)
    np.testing.assert_array_equal(mine_out, out[0].numpy())
    np.testing.assert_array_equal(mine_idx, idx[0].numpy())
    np.testing.assert_array_equal(max_unpool2d(mine_out, mine_idx, (6, 8)),
                                  F.max_unpool2d(out, idx, 2, output_size=(6, 8))[0].numpy())
