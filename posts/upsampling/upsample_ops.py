"""上采样算子的 NumPy 实现（单张图，形状 (C, H, W)，不含 batch 维）。

卷积沿用深度学习的习惯，指互相关：y[o,i,j] = Σ_{c,p,q} w[o,c,p,q] · x_pad[c, s·i+p, s·j+q]。
转置卷积用同一个权重 w（形状 (C_out, C_in, k, k)）把 (C_out, Ho, Wo) 映回 (C_in, H, W)，
它正是卷积这个线性映射的伴随（矩阵转置），与 PyTorch 的 conv_transpose2d(y, w) 约定一致。
"""
import numpy as np


# ---------------------------------------------------------------- 尺寸公式
def conv_out_size(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1


def conv_transpose_out_size(n, k, s=1, p=0, output_padding=0):
    return (n - 1) * s - 2 * p + k + output_padding


# ---------------------------------------------------------------- 卷积与转置卷积
def conv2d(x, w, stride=1, padding=0):
    """x: (C_in, H, W)，w: (C_out, C_in, k, k) -> (C_out, Ho, Wo)。"""
    C_out, C_in, k, _ = w.shape
    _, H, W = x.shape
    s, p = stride, padding
    Ho, Wo = conv_out_size(H, k, s, p), conv_out_size(W, k, s, p)
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    y = np.zeros((C_out, Ho, Wo))
    for a in range(k):                        # 对每个卷积核偏移 (a, b)，取出对应的步长子网格
        for b in range(k):
            patch = xp[:, a:a + s * (Ho - 1) + 1:s, b:b + s * (Wo - 1) + 1:s]
            y += np.einsum("oc,chw->ohw", w[:, :, a, b], patch)
    return y


def conv_transpose2d(y, w, stride=1, padding=0, output_padding=0):
    """y: (C_out, Ho, Wo)，w: (C_out, C_in, k, k) -> (C_in, H, W)。
    "散射"写法：每个输入像素 y[o,i,j] 把 w[o,:,:,:]·y[o,i,j] 盖到输出的 (s·i - p, s·j - p) 处，重叠部分相加。"""
    C_out, C_in, k, _ = w.shape
    _, Ho, Wo = y.shape
    s, p, op = stride, padding, output_padding
    full_h = (Ho - 1) * s + k + op
    full_w = (Wo - 1) * s + k + op
    full = np.zeros((C_in, full_h, full_w))
    for a in range(k):
        for b in range(k):
            full[:, a:a + s * (Ho - 1) + 1:s, b:b + s * (Wo - 1) + 1:s] += \
                np.einsum("oc,ohw->chw", w[:, :, a, b], y)
    H = conv_transpose_out_size(Ho, k, s, p, op)
    W = conv_transpose_out_size(Wo, k, s, p, op)
    return full[:, p:p + H, p:p + W]           # 去掉与 padding 对应的边


def conv_matrix(w, in_shape, stride=1, padding=0):
    """把卷积写成显式矩阵 C（逐个基向量求像），形状 (C_out·Ho·Wo, C_in·H·W)。只用于小尺寸验证。"""
    n = int(np.prod(in_shape))
    cols = []
    for idx in range(n):
        e = np.zeros(n)
        e[idx] = 1.0
        cols.append(conv2d(e.reshape(in_shape), w, stride, padding).ravel())
    return np.stack(cols, axis=1)


def overlap_count(n_in, k, s, p=0):
    """全 1 输入、全 1 卷积核的转置卷积：每个输出像素被多少个 (输入像素, 核位置) 覆盖（二维）。"""
    return conv_transpose2d(np.ones((1, n_in, n_in)), np.ones((1, 1, k, k)), s, p)[0]


def overlap_count_1d(k, s):
    """内部区域里，输出相位 φ = 0..s-1 各自被覆盖的次数：#{t ∈ [0,k) : t ≡ φ (mod s)} = ⌈(k-φ)/s⌉。"""
    return np.array([-(-(k - phi) // s) for phi in range(s)])


def bilinear_kernel(factor):
    """FCN 用来初始化转置卷积的双线性核，尺寸 2·factor - factor % 2。"""
    size = 2 * factor - factor % 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    t = np.arange(size)
    f1 = 1 - np.abs(t - center) / factor
    return np.outer(f1, f1)


# ---------------------------------------------------------------- PixelShuffle
def pixel_shuffle(x, r):
    """(C·r², H, W) -> (C, H·r, W·r)：out[c, h·r+i, w·r+j] = x[c·r² + i·r + j, h, w]。"""
    Cr2, H, W = x.shape
    C = Cr2 // (r * r)
    assert C * r * r == Cr2
    return x.reshape(C, r, r, H, W).transpose(0, 3, 1, 4, 2).reshape(C, H * r, W * r)


def pixel_unshuffle(x, r):
    """pixel_shuffle 的逆：(C, H·r, W·r) -> (C·r², H, W)。"""
    C, Hr, Wr = x.shape
    H, W = Hr // r, Wr // r
    assert H * r == Hr and W * r == Wr
    return x.reshape(C, H, r, W, r).transpose(0, 2, 4, 1, 3).reshape(C * r * r, H, W)


def subpixel_weights_from_transpose(w_t, r):
    """把步长 r、核大小 k·r、padding 0 的转置卷积核 w_t (C_out, C_in, k·r, k·r)
    改写成步长 1、核大小 k 的普通卷积核 (C_in·r², C_out, k, k)：
    输出相位 (φ, ψ) 的子核是 w_t[:, :, r·j+φ, r·l+ψ]，再在空间上翻转（转置卷积是真卷积，普通卷积是互相关）。"""
    C_out, C_in, K, _ = w_t.shape
    k = K // r
    assert k * r == K
    w_sub = np.zeros((C_in * r * r, C_out, k, k))
    for c in range(C_in):
        for phi in range(r):
            for psi in range(r):
                sub = w_t[:, c, phi::r, psi::r]          # (C_out, k, k)，下标 j -> r·j + φ
                w_sub[c * r * r + phi * r + psi] = sub[:, ::-1, ::-1]
    return w_sub


def subpixel_conv(y, w_sub, r):
    """亚像素卷积：在低分辨率上做步长 1 的"全"卷积（两侧各补 k-1），再 PixelShuffle。"""
    k = w_sub.shape[-1]
    return pixel_shuffle(conv2d(y, w_sub, stride=1, padding=k - 1), r)


def icnr_init(w_base, r):
    """ICNR 初始化：r² 个相位共用同一个子核，(C_out, C_in, k, k) -> (C_out·r², C_in, k, k)。"""
    return np.repeat(w_base, r * r, axis=0)


# ---------------------------------------------------------------- 插值
def upsample_nearest(x, out_size, exact=False):
    """PyTorch 的 'nearest'：src = floor(dst·in/out)；'nearest-exact'：src = floor((dst+0.5)·in/out)。"""
    C, H, W = x.shape
    Ho, Wo = out_size

    def src(n_in, n_out):
        d = np.arange(n_out)
        s = (d + 0.5) * n_in / n_out if exact else d * n_in / n_out
        return np.minimum(np.floor(s).astype(int), n_in - 1)

    return x[:, src(H, Ho)][:, :, src(W, Wo)]


def _linear_weights(n_in, n_out, align_corners):
    """一维线性插值：返回左右邻居下标 i0, i1 与右邻居的权重 lam。"""
    d = np.arange(n_out, dtype=float)
    if align_corners:
        s = d * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(n_out)
    else:
        s = np.maximum((d + 0.5) * n_in / n_out - 0.5, 0.0)   # 半像素中心，负数截到 0
    i0 = np.minimum(np.floor(s).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, s - i0


def upsample_bilinear(x, out_size, align_corners=False):
    Ho, Wo = out_size
    r0, r1, lr = _linear_weights(x.shape[1], Ho, align_corners)
    c0, c1, lc = _linear_weights(x.shape[2], Wo, align_corners)
    rows = x[:, r0] * (1 - lr)[None, :, None] + x[:, r1] * lr[None, :, None]
    return rows[:, :, c0] * (1 - lc)[None, None, :] + rows[:, :, c1] * lc[None, None, :]


def interpolation_matrix(n_in, n_out, align_corners):
    """一维线性插值的矩阵 A (n_out × n_in)；二维双线性是 A_H ⊗ A_W 的可分离形式。"""
    i0, i1, lam = _linear_weights(n_in, n_out, align_corners)
    A = np.zeros((n_out, n_in))
    np.add.at(A, (np.arange(n_out), i0), 1 - lam)
    np.add.at(A, (np.arange(n_out), i1), lam)
    return A


# ---------------------------------------------------------------- 最大池化与反池化（SegNet）
def max_pool2d_with_indices(x, k=2):
    """k×k、步长 k 的最大池化；indices 是每个通道内展平的下标 h·W + w（PyTorch 约定）。"""
    C, H, W = x.shape
    Ho, Wo = H // k, W // k
    blocks = x[:, :Ho * k, :Wo * k].reshape(C, Ho, k, Wo, k).transpose(0, 1, 3, 2, 4).reshape(C, Ho, Wo, k * k)
    arg = blocks.argmax(axis=-1)
    out = np.take_along_axis(blocks, arg[..., None], axis=-1)[..., 0]
    di, dj = np.divmod(arg, k)
    hi = np.arange(Ho)[None, :, None] * k + di
    wj = np.arange(Wo)[None, None, :] * k + dj
    return out, hi * W + wj


def max_unpool2d(y, indices, out_hw):
    """把 y 的每个值放回 indices 记录的位置，其余位置为 0。"""
    C = y.shape[0]
    H, W = out_hw
    out = np.zeros((C, H * W))
    np.put_along_axis(out, indices.reshape(C, -1), y.reshape(C, -1), axis=1)
    return out.reshape(C, H, W)


if __name__ == "__main__":
    rng = np.random.default_rng(0)

    print("== 转置卷积是卷积的伴随 ==")
    x = rng.standard_normal((2, 7, 7))
    w = rng.standard_normal((3, 2, 3, 3))
    y = rng.standard_normal((3, 4, 4))
    lhs = np.sum(conv2d(x, w, stride=2, padding=1) * y)
    rhs = np.sum(x * conv_transpose2d(y, w, stride=2, padding=1))
    print(f"<Cx, y> = {lhs:.12f}\n<x, C^T y> = {rhs:.12f}\n差 = {abs(lhs - rhs):.2e}")
    C = conv_matrix(w, x.shape, stride=2, padding=1)
    print(f"显式矩阵 C 的形状 {C.shape}；‖C^T y - conv_transpose(y)‖_max = "
          f"{np.abs(C.T @ y.ravel() - conv_transpose2d(y, w, 2, 1).ravel()).max():.2e}")

    print("\n== 输出尺寸：conv 把 H = 7, 8 都映到 4；output_padding 负责区分 ==")
    for H in (7, 8):
        Ho = conv_out_size(H, 3, 2, 1)
        print(f"H = {H} -> conv -> {Ho} -> conv_transpose(op = {H - conv_transpose_out_size(Ho, 3, 2, 1)})"
              f" -> {conv_transpose_out_size(Ho, 3, 2, 1, H - conv_transpose_out_size(Ho, 3, 2, 1))}")

    print("\n== 重叠计数（输入 8×8 全 1，核全 1；取内部从相位 0 开始的 2s×2s 块）==")
    for k, s in [(3, 2), (4, 2), (5, 2), (4, 3)]:
        cnt = overlap_count(8, k, s, p=0)
        mid = cnt[s * k:s * k + 2 * s, s * k:s * k + 2 * s].astype(int)
        print(f"k={k}, s={s}: 一维相位覆盖数 {overlap_count_1d(k, s)}；内部 {2 * s}×{2 * s} 块：")
        print(mid)

    print("\n== PixelShuffle ==")
    z = np.arange(2 * 4 * 2 * 3).reshape(2 * 4, 2, 3).astype(float)
    ps = pixel_shuffle(z, 2)
    print("(8,2,3) -> ", ps.shape, "；通道 0 的 4×6 结果：")
    print(ps[0].astype(int))
    print("unshuffle(shuffle(x)) == x:", np.array_equal(pixel_unshuffle(ps, 2), z))

    print("\n== 亚像素卷积 = 转置卷积（步长 r，核长 κr）==")
    r, k = 2, 2
    w_t = rng.standard_normal((3, 2, k * r, k * r))
    y = rng.standard_normal((3, 5, 5))
    a = conv_transpose2d(y, w_t, stride=r)
    b = subpixel_conv(y, subpixel_weights_from_transpose(w_t, r), r)
    print(f"形状 {a.shape} vs {b.shape}，最大差 {np.abs(a - b).max():.2e}")

    print("\n== 双线性插值：align_corners ==")
    v = np.array([[[0.0, 1.0, 2.0, 3.0]]])
    for ac in (True, False):
        print(f"align_corners={ac}: ", np.round(upsample_bilinear(v, (1, 8), ac)[0, 0], 4))

    print("\n== FCN 双线性核的转置卷积 vs 双线性插值（factor = 2）==")
    img = rng.standard_normal((1, 6, 6))
    up_t = conv_transpose2d(img, bilinear_kernel(2)[None, None], stride=2, padding=1)
    up_b = upsample_bilinear(img, (12, 12), align_corners=False)
    print(f"内部 10×10 最大差 {np.abs(up_t - up_b)[0, 1:-1, 1:-1].max():.2e}；"
          f"边界最大差 {np.abs(up_t - up_b).max():.3f}")
