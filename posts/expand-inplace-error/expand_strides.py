"""expand 之后原地操作为何报错：存储、步长、偏移与内部重叠（PyTorch，CPU，小张量）。

纯 Python 的部分（地址公式、别名统计、快速判定、执行顺序模拟）在 strided_layout.py 中，这里导入后与 PyTorch 对照。
1. 地址公式：元素 (i_0, ..., i_{d-1}) 存在 storage[offset + Σ_k i_k * stride_k]，用纯 Python 逐元素核对；
2. expand 只改元数据：被扩展的维度步长为 0，不复制数据，data_ptr 与原张量相同；
3. 重叠检测：统计每个存储地址被多少个逻辑元素引用（暴力法），与 PyTorch 内部的快速判定对照；
4. 为什么要拒绝：用纯 Python 模拟"逐元素读-改-写"与"先读后写"两种执行顺序，结果不同；
5. 修复：clone / contiguous / repeat / 非原地运算，并比较它们各自新分配的内存。
"""
import itertools

import torch

from strided_layout import (address, alias_counts_of, is_non_overlapping_and_dense,  # noqa: F401
                            min_storage_elems, quick_overlap_check, simulate_inplace)

OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers "
               "to a single memory location. Please clone() the tensor before performing the operation.")


# ---------------------------------------------------------------- 1. 地址公式
def flat_storage(t):
    """把 t 所在的整块存储看成一维张量（与 t 共享内存，下标即存储中的元素序号）。"""
    n = t.untyped_storage().nbytes() // t.element_size()
    return t.as_strided((n,), (1,), 0)


def gather_by_formula(t):
    """只用 (storage, offset, strides) 逐元素重建 t。"""
    store = flat_storage(t).tolist()
    out = torch.empty(t.shape, dtype=t.dtype)
    for idx in itertools.product(*map(range, t.shape)):
        out[idx] = store[address(t.storage_offset(), t.stride(), idx)]
    return out


def alias_counts(t):
    """每个存储地址被多少个逻辑元素引用。最大值 > 1 就是"内部重叠"。"""
    return alias_counts_of(t.shape, t.stride(), t.storage_offset())


# ---------------------------------------------------------------- 2. 复现与修复
def reproduce_error():
    """返回 x.add_(1) 在 expand 视图上抛出的错误信息。"""
    x = torch.zeros(3, 1).expand(3, 4)
    try:
        x.add_(1)
    except RuntimeError as e:
        return str(e)
    return None


def position_ids_buggy(B=2, L=5, offsets=(0, 10)):
    """常见场景：为每个样本生成位置下标后再原地加偏移。"""
    pos = torch.arange(L).expand(B, L)                      # (B, L)，步长 (0, 1)
    pos += torch.tensor(offsets).view(B, 1)                 # 报错：pos 是被写的一方
    return pos


def position_ids_fixes(B=2, L=5, offsets=(0, 10)):
    off = torch.tensor(offsets).view(B, 1)
    base = torch.arange(L)
    a = base.expand(B, L).clone(); a += off                 # expand + clone：分配 B*L
    b = base.repeat(B, 1); b += off                         # repeat：本身就复制，分配 B*L
    c = base.expand(B, L).contiguous(); c += off            # contiguous：对 expand 视图同样会复制
    d = base.expand(B, L) + off                             # 非原地：结果是新张量
    e = base + off                                          # 直接依赖广播，根本不需要 expand
    return {"clone": a, "repeat": b, "contiguous": c, "out_of_place": d, "broadcast": e}


def new_bytes(t, base):
    """t 相对 base 新分配的字节数：共享存储则为 0。"""
    if t.untyped_storage().data_ptr() == base.untyped_storage().data_ptr():
        return 0
    return t.untyped_storage().nbytes()


def memory_report(n=1000, k=1000):
    """(n, 1) 的 float32 列向量扩成 (n, k) 的几种方法各自新分配多少字节。"""
    base = torch.randn(n, 1)
    views = {
        "expand": base.expand(n, k),
        "broadcast_to": torch.broadcast_to(base, (n, k)),
        "expand+clone": base.expand(n, k).clone(),
        "expand+contiguous": base.expand(n, k).contiguous(),
        "repeat": base.repeat(1, k),
    }
    return base, {name: (new_bytes(v, base), tuple(v.stride()), v.is_contiguous()) for name, v in views.items()}


def error_of(fn):
    """执行 fn，返回它抛出的 RuntimeError 的信息（不抛出则返回 None）。"""
    try:
        fn()
    except RuntimeError as e:
        return str(e)
    return None


def nearest_upsample_via_expand(x, r):
    """(B, C, H, W) -> (B, C, rH, rW) 的最近邻上采样：先插入两个长度 1 的维度并 expand 成 r（零拷贝），
    再 reshape。合并 (H, r) 两维时步长不相容，reshape 在这里才真正复制一次数据。"""
    B, C, H, W = x.shape
    v = x[:, :, :, None, :, None].expand(B, C, H, r, W, r)
    return v, v.reshape(B, C, H * r, W * r)


if __name__ == "__main__":
    print("错误信息:", reproduce_error())
    e = torch.zeros(3, 1).expand(3, 4)
    print(f"zeros(3, 1).expand(3, 4): stride={e.stride()} contiguous={e.is_contiguous()} "
          f"存储 {e.untyped_storage().nbytes()} 字节；expand(1, 3, 4) 的 stride={torch.zeros(3, 1).expand(1, 3, 4).stride()}")
    a, b = torch.broadcast_tensors(torch.zeros(3, 1), torch.zeros(1, 4))
    print(f"broadcast_tensors((3, 1), (1, 4)) 的步长: {a.stride()} {b.stride()}")
    base = torch.arange(6.0).view(2, 3)[:, 1:]               # 偏移 1，步长 (3, 1)
    x = base.unsqueeze(0).expand(4, 2, 2)
    print(f"base: offset={base.storage_offset()} stride={base.stride()} | "
          f"expand: shape={tuple(x.shape)} stride={x.stride()} contiguous={x.is_contiguous()} "
          f"同一 data_ptr={x.data_ptr() == base.data_ptr()}")
    print("按地址公式重建与原张量一致:", torch.equal(gather_by_formula(x), x))
    cnt = alias_counts(x)
    print(f"16 个逻辑元素只用到 {len(cnt)} 个地址，每个地址被引用 {set(cnt.values())} 次")
    e = torch.zeros(3, 1).expand(3, 4)
    for order in ("sequential", "snapshot", "reversed"):
        add1 = simulate_inplace([0, 0, 0], e.shape, e.stride(), 0, lambda v, idx: v + 1, order)
        addj = simulate_inplace([0, 0, 0], e.shape, e.stride(), 0, lambda v, idx: v + idx[1], order)
        print(f"{order:10s} x += 1 -> {add1}   x += arange(4) -> {addj}")
    e.fill_(5.0)
    print(f"expand 视图上 fill_(5.) 可以执行，存储仍为 {flat_storage(e).tolist()}")
    e = torch.zeros(3, 1).expand(3, 4)
    e[0, 0] = 5.0
    print(f"x[0, 0] = 5. 之后 x[0] = {e[0].tolist()}")
    s = torch.arange(6.0)
    s.as_strided((3, 3), (1, 1)).add_(100)                   # 判为 too_hard，不报错
    print(f"arange(6.) 的 as_strided((3, 3), (1, 1)) 视图 add_(100) 之后，存储为 {s.tolist()}")
    a = torch.arange(5.0)
    print("a[1:] += a[:-1]:", error_of(lambda: a[1:].add_(a[:-1])))
    print("zeros(3, 1) += ones(3, 4):", error_of(lambda: torch.zeros(3, 1).add_(torch.ones(3, 4))))
    w = torch.randn(3, 1, requires_grad=True)
    print("叶子 w 的 expand 视图 add_(1):", error_of(lambda: w.expand(3, 4).add_(1)))
    for sz, st in [((3, 4), (4, 1)), ((4, 3), (1, 4)), ((3, 4), (1, 0)), ((3, 3), (1, 1)), ((3,), (2,))]:
        print(f"sizes={sz} strides={st}: 快速判定={quick_overlap_check(sz, st)}")
    base, rep = memory_report()
    print(f"基张量 {base.untyped_storage().nbytes()} 字节")
    for k, v in rep.items():
        print(f"  {k:18s} 新分配 {v[0]:>8d} 字节  stride={v[1]}  contiguous={v[2]}")
    v, up = nearest_upsample_via_expand(torch.zeros(2, 3, 4, 5), 2)
    print(f"最近邻上采样：expand 视图 stride={v.stride()}，reshape 后 stride={up.stride()}")
