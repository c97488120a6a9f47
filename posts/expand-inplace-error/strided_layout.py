"""步长布局的纯 Python 部分（不依赖 torch）：地址公式、别名统计、expand 的步长规则、
模仿 ATen 的重叠快速判定，以及原地运算在不同执行顺序下的模拟。
expand_strides.py 从这里导入这些函数；本文的图也只用这个模块，测试把它与 PyTorch 逐一对照。"""
import itertools
from collections import Counter


# ---------------------------------------------------------------- 地址公式与别名
def address(offset, strides, idx):
    """offset + Σ_k idx_k * stride_k：逻辑下标到存储序号的映射。"""
    return offset + sum(i * s for i, s in zip(idx, strides))


def alias_counts_of(sizes, strides, offset=0):
    """每个存储地址被多少个逻辑元素引用（暴力枚举）。最大值 > 1 就是"内部重叠"。"""
    return Counter(address(offset, strides, idx) for idx in itertools.product(*map(range, sizes)))


def min_storage_elems(sizes, strides, offset=0):
    """步长非负时，视图至少需要的存储长度：offset + 1 + Σ_k (size_k - 1) * stride_k。"""
    if any(n == 0 for n in sizes):
        return 0
    return offset + 1 + sum((n - 1) * s for n, s in zip(sizes, strides))


def expanded_strides(sizes, strides, target):
    """x.expand(*target) 的步长（只由 x 的形状与步长决定）：右对齐；被扩展（长度 1 -> n）的维度步长为 0；
    -1 或长度不变的维度保留原步长；新添加的前导维度长度大于 1 时步长为 0，长度为 1 时取
    “后一维的长度 × 步长”（没有后一维时取 0）。"""
    out_sizes, out_strides = [0] * len(target), [0] * len(target)
    for i in range(len(target) - 1, -1, -1):
        dim = len(sizes) - len(target) + i                      # 右对齐后对应的原维度
        if dim >= 0:
            size, stride = sizes[dim], strides[dim]
        else:
            size = 1
            stride = out_sizes[i + 1] * out_strides[i + 1] if i + 1 < len(target) else 0
        n = size if target[i] == -1 else target[i]
        if n != size:
            assert size == 1, "只有长度为 1 的维度能被扩展"
            stride = 0
        out_sizes[i], out_strides[i] = n, stride
    return tuple(out_sizes), tuple(out_strides)


# ---------------------------------------------------------------- 模仿 ATen 的快速判定
def is_non_overlapping_and_dense(sizes, strides):
    """把维度按步长从小到大排好后，能否恰好铺满一段连续内存（忽略长度为 1 的维度）。"""
    dims = sorted((s, n) for n, s in zip(sizes, strides) if n != 1)
    expected = 1
    for s, n in dims:
        if s != expected:
            return False
        expected *= n
    return True


def quick_overlap_check(sizes, strides):
    """返回 'no' / 'yes' / 'too_hard'，逻辑与 aten/src/ATen/MemoryOverlap.cpp 的 has_internal_overlap 相同：
    稠密不重叠 -> no；存在 size > 1 且 stride == 0 的维度 -> yes；其余不去细算 -> too_hard。"""
    if is_non_overlapping_and_dense(sizes, strides):
        return "no"
    if any(n > 1 and s == 0 for n, s in zip(sizes, strides)):
        return "yes"
    return "too_hard"


# ---------------------------------------------------------------- 为什么结果会有歧义
def simulate_inplace(storage, sizes, strides, offset, update, order="sequential"):
    """在 Python 列表 storage 上模拟原地运算 x[idx] <- update(x[idx], idx)。
    order="sequential"：按行主序逐个元素"读-改-写"（单线程循环的朴素写法）；
    order="snapshot"  ：先把所有元素读出来，再按行主序逐个写回（向量化/并行时常见）；
    order="reversed"  ：与 snapshot 相同但倒序写回（换一种线程调度）。"""
    s = list(storage)
    idxs = list(itertools.product(*map(range, sizes)))
    if order == "sequential":
        for idx in idxs:
            a = address(offset, strides, idx)
            s[a] = update(s[a], idx)
        return s
    new = [(address(offset, strides, idx), update(s[address(offset, strides, idx)], idx)) for idx in idxs]
    if order == "reversed":
        new = new[::-1]
    for a, v in new:
        s[a] = v
    return s
