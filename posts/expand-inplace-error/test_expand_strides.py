"""expand_strides 的测试：地址公式、stride 0 视图、报错信息、重叠判定、执行顺序的歧义、修复方法与内存。"""
import itertools
import re

import pytest
import torch

from expand_strides import (OVERLAP_MSG, address, alias_counts, flat_storage, gather_by_formula,
                            is_non_overlapping_and_dense, memory_report, min_storage_elems,
                            nearest_upsample_via_expand, position_ids_buggy, position_ids_fixes, quick_overlap_check,
                            reproduce_error, simulate_inplace)
from strided_layout import expanded_strides

MATCH = re.escape("more than one element of the written-to tensor refers to a single memory location")


def expanded():
    return torch.zeros(3, 1).expand(3, 4)


# ------------------------------------------------------------ 地址公式
@pytest.mark.parametrize("make", [
    lambda b: b,                                    # 连续
    lambda b: b.t(),                                # 转置：步长交换
    lambda b: b[1:, ::2],                           # 偏移 + 步长 2
    lambda b: b[:, 1:2].expand(3, 5),               # expand：步长 0
    lambda b: b[0].unsqueeze(0).expand(2, 4),       # 新增维度再 expand
    lambda b: b.as_strided((3, 3), (1, 1), 2),      # 人为构造的重叠视图
])
def test_address_formula_reconstructs_every_view(make):
    base = torch.arange(12.0).view(3, 4)
    t = make(base)
    assert t.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()   # 都是视图
    assert torch.equal(gather_by_formula(t), t)
    store = flat_storage(t)
    for idx in itertools.product(*map(range, t.shape)):
        assert store[address(t.storage_offset(), t.stride(), idx)] == t[idx]
    # 公式给出的最大地址 = 视图需要的最小存储长度 - 1，且不越界
    assert min_storage_elems(t.shape, t.stride(), t.storage_offset()) <= store.numel()


# ------------------------------------------------------------ expand 的元数据
def test_expand_is_a_stride0_view_without_copy():
    base = torch.arange(3.0).view(3, 1)
    x = base.expand(3, 4)
    assert x.stride() == (1, 0)
    assert x.data_ptr() == base.data_ptr() and x.storage_offset() == base.storage_offset()
    assert not x.is_contiguous()
    assert x.untyped_storage().nbytes() == 3 * 4                 # 仍是 3 个 float32
    y = base.unsqueeze(0).expand(5, 3, 4)                        # 新增的前导维度步长也是 0
    assert y.stride() == (0, 1, 0)
    base[1, 0] = 7.0                                             # 写基张量，视图同步可见
    assert torch.equal(x[1], torch.full((4,), 7.0))


def test_alias_counts_of_expanded_view():
    x = torch.arange(6.0).view(2, 3)[:, 1:].unsqueeze(0).expand(4, 2, 2)
    cnt = alias_counts(x)
    assert len(cnt) == 4 and set(cnt.values()) == {4}             # 16 个元素、4 个地址、各 4 次
    assert x.stride() == (0, 3, 1) and x.storage_offset() == 1


# ------------------------------------------------------------ 复现报错
def test_error_message_is_reproduced_verbatim():
    assert reproduce_error() == OVERLAP_MSG


@pytest.mark.parametrize("op", [
    lambda x: x.add_(1),
    lambda x: x.mul_(2),
    lambda x: x.__iadd__(torch.ones(3, 4)),
    lambda x: x.copy_(torch.ones(3, 4)),
    lambda x: x.normal_(),
    lambda x: torch.add(torch.ones(3, 4), 1, out=x),
])
def test_writes_into_expanded_tensor_are_refused(op):
    x = expanded()
    with pytest.raises(RuntimeError, match=MATCH):
        op(x)
    assert torch.equal(x, torch.zeros(3, 4))                     # 报错发生在写入之前


def test_idempotent_fill_is_allowed():
    # fill_/zero_ 对同一地址写同一个值，结果没有歧义，PyTorch 不做检查
    x = expanded()
    x.fill_(5.0)
    assert torch.equal(x, torch.full((3, 4), 5.0))
    assert x.untyped_storage().nbytes() == 12                    # 仍然只有 3 个数


def test_expanded_operand_on_the_right_is_fine():
    y = torch.arange(4.0).expand(3, 4)                           # 只被读取
    x = torch.zeros(3, 4)
    x += y
    assert torch.equal(x, torch.arange(4.0).repeat(3, 1))
    z = torch.zeros(3, 4)
    z += torch.arange(4.0)                                       # 广播的读取方，效果相同
    assert torch.equal(z, x)
    # 反过来：被写的一方需要广播，是另一种错误（形状不符），与内存重叠无关
    with pytest.raises(RuntimeError, match=re.escape("doesn't match the broadcast shape")):
        torch.zeros(3, 1).__iadd__(torch.ones(3, 4))


def test_partial_overlap_between_input_and_output_is_refused_too():
    a = torch.arange(5.0)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor"):
        a[1:] += a[:-1]
    a += a                                                       # 完全重合（逐元素对应）是允许的
    assert torch.equal(a, 2 * torch.arange(5.0))


# ------------------------------------------------------------ 重叠判定
CASES = [
    ((3, 4), (4, 1)),       # 连续
    ((4, 3), (1, 4)),       # 转置
    ((3, 4), (1, 0)),       # expand
    ((1, 4), (0, 1)),       # 长度 1 的维度步长为 0：不算重叠
    ((3, 3), (1, 1)),       # as_strided 构造的重叠（滑动窗口）
    ((3,), (2,)),           # 步长 2 的切片：有空洞，不重叠
]


@pytest.mark.parametrize("sizes,strides", CASES)
def test_quick_check_agrees_with_pytorch_and_is_conservative(sizes, strides):
    store = torch.zeros(64)
    t = store.as_strided(sizes, strides, 0)
    code = {"no": 0, "yes": 1, "too_hard": 2}[quick_overlap_check(sizes, strides)]
    if hasattr(torch, "_debug_has_internal_overlap"):
        assert torch._debug_has_internal_overlap(t) == code
    truly = max(alias_counts(t).values()) > 1
    if code == 0:
        assert not truly                                         # "no" 一定正确
    if code == 1:
        assert truly                                             # "yes" 一定正确


def test_undetected_overlap_does_not_raise():
    # 快速判定只认 stride 0；as_strided 造出的重叠视图判为 too_hard，不会报错
    t = torch.zeros(8).as_strided((3, 3), (1, 1))
    assert max(alias_counts(t).values()) == 3
    t.add_(1.0)                                                  # 不抛异常（结果依赖实现，不做断言）


def test_dense_check():
    assert is_non_overlapping_and_dense((2, 3, 4), (12, 4, 1))
    assert is_non_overlapping_and_dense((2, 3, 4), (1, 2, 6))    # 任意维度排列
    assert not is_non_overlapping_and_dense((2, 3), (3, 0))
    assert not is_non_overlapping_and_dense((3,), (2,))


# ------------------------------------------------------------ 歧义
def test_execution_order_changes_the_result_only_when_overlapping():
    inc = lambda v, idx: v + 1
    addj = lambda v, idx: v + idx[1]
    # 重叠：3 个地址、每个被 4 个元素引用
    r = {o: simulate_inplace([0] * 3, (3, 4), (1, 0), 0, inc, o) for o in ("sequential", "snapshot", "reversed")}
    assert r["sequential"] == [4, 4, 4] and r["snapshot"] == [1, 1, 1] == r["reversed"]
    r = {o: simulate_inplace([0] * 3, (3, 4), (1, 0), 0, addj, o) for o in ("sequential", "snapshot", "reversed")}
    assert r["sequential"] == [6, 6, 6] and r["snapshot"] == [3, 3, 3] and r["reversed"] == [0, 0, 0]
    # 不重叠：三种顺序结果相同，且等于逐元素的数学定义
    for sizes, strides in [((3, 4), (4, 1)), ((3, 4), (1, 3))]:
        outs = [simulate_inplace([0] * 12, sizes, strides, 0, addj, o) for o in ("sequential", "snapshot", "reversed")]
        assert outs[0] == outs[1] == outs[2]
        assert sorted(outs[0]) == sorted([j for i in range(3) for j in range(4)])


# ------------------------------------------------------------ 修复
def test_position_ids_bug_and_fixes():
    with pytest.raises(RuntimeError, match=MATCH):
        position_ids_buggy()
    expected = torch.tensor([[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]])
    for name, r in position_ids_fixes().items():
        assert torch.equal(r, expected), name
        assert r.stride() == (5, 1), name                        # 结果都是独立的连续张量


def test_memory_cost_of_each_fix():
    n, k = 1000, 1000
    base, rep = memory_report(n, k)
    assert base.untyped_storage().nbytes() == n * 4
    for name in ("expand", "broadcast_to"):
        assert rep[name] == (0, (1, 0), False)
    for name in ("expand+clone", "expand+contiguous", "repeat"):
        assert rep[name] == (n * k * 4, (k, 1), True)


def test_clone_then_inplace_leaves_base_untouched():
    base = torch.arange(3.0).view(3, 1)
    x = base.expand(3, 4).clone()
    x[:, 0] += 100
    assert torch.equal(base.view(-1), torch.arange(3.0))
    assert torch.equal(x[:, 1], torch.arange(3.0)) and torch.equal(x[:, 0], torch.arange(3.0) + 100)


# ------------------------------------------------------------ autograd
def test_expand_backward_sums_over_broadcast_dim():
    w = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    c = torch.arange(12.0).view(3, 4)
    (w.expand(3, 4) * c).sum().backward()
    assert torch.equal(w.grad, c.sum(1, keepdim=True))           # ∂L/∂w_i = Σ_j c_ij


def test_autograd_view_inplace_errors_and_clone_fix():
    w = torch.randn(3, 1, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w.expand(3, 4).add_(1)                                   # 叶子的视图：autograd 先拦下
    with pytest.raises(RuntimeError, match=MATCH):
        (w * 1).expand(3, 4).add_(1)                             # 非叶子：落到重叠检查
    v = w.expand(3, 4).clone()
    v.add_(1)
    (v ** 2).sum().backward()                                    # d/dw Σ_j (w_i + 1)^2 = 8 (w_i + 1)
    assert torch.allclose(w.grad, 8 * (w.detach() + 1))


# ------------------------------------------------------------ 与上采样的联系
def test_nearest_upsample_via_expand_matches_interpolate():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5)
    v, up = nearest_upsample_via_expand(x, 2)
    assert v.stride() == (60, 20, 5, 0, 1, 0) and v.data_ptr() == x.data_ptr()   # expand 阶段零拷贝
    assert up.data_ptr() != x.data_ptr() and up.is_contiguous()                   # reshape 时复制
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    assert torch.equal(up, ref)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        v.view(2, 3, 8, 10)                                                       # view 不能复制，只能报错


# ------------------------------------------------------------ 画图用的纯 Python 步长规则
@pytest.mark.parametrize("make, target", [
    (lambda: torch.zeros(3, 1), (3, 4)),
    (lambda: torch.zeros(3, 1), (1, 3, 4)),
    (lambda: torch.zeros(3, 1), (2, 1, 3, 4)),
    (lambda: torch.zeros(1, 3), (-1, 3)),
    (lambda: torch.zeros(1, 3), (5, 3)),
    (lambda: torch.arange(3.0).view(3, 1), (3, 3)),
    (lambda: torch.arange(3.0).view(1, 3), (3, 3)),
    (lambda: torch.arange(6.0).view(2, 3)[:, 1:].unsqueeze(0), (4, 2, 2)),
    (lambda: torch.zeros(4, 3).t().unsqueeze(1), (3, 5, 4)),
    (lambda: torch.zeros(1, 6)[:, ::2], (5, 3)),
    (lambda: torch.tensor(5.0), (2, 3)),
    (lambda: torch.tensor(5.0), (1, 1)),
])
def test_expanded_strides_rule_matches_pytorch(make, target):
    """strided_layout.expanded_strides 只用形状与步长推出 expand 的结果，与 PyTorch 一致。"""
    x = make()
    e = x.expand(*target)
    assert expanded_strides(tuple(x.shape), x.stride(), target) == (tuple(e.shape), e.stride())
