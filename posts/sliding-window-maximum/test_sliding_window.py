"""sliding_window.py 的测试：四种方法互相对拍、非法输入、单调队列操作计数。"""
import random

import pytest

import sliding_window
from sliding_window import (
    METHODS,
    max_block_prefix_suffix,
    max_brute_force,
    max_heap_lazy,
    max_monotonic_deque,
    shortest_subarray_at_least,
)

FAST_METHODS = [max_heap_lazy, max_monotonic_deque, max_block_prefix_suffix]


def _random_cases(seed=20260108, n_cases=400):
    """生成 (nums, k)：覆盖 k=1、k=n、大量重复值、负数、浮点数。"""
    rng = random.Random(seed)
    cases = []
    for _ in range(n_cases):
        n = rng.randint(1, 60)
        kind = rng.choice(["wide", "dups", "negative", "float", "sorted"])
        if kind == "wide":
            nums = [rng.randint(-1000, 1000) for _ in range(n)]
        elif kind == "dups":
            nums = [rng.randint(0, 2) for _ in range(n)]        # 大量相等值
        elif kind == "negative":
            nums = [rng.randint(-50, -1) for _ in range(n)]     # 全为负数
        elif kind == "float":
            nums = [rng.uniform(-1.0, 1.0) for _ in range(n)]
        else:
            nums = sorted(rng.randint(-20, 20) for _ in range(n))
            if rng.random() < 0.5:
                nums.reverse()
        for k in {1, n, rng.randint(1, n)}:                      # 必含 k=1 与 k=n
            cases.append((nums, k))
    return cases


CASES = _random_cases()


def test_cases_cover_edge_conditions():
    assert any(k == 1 for _, k in CASES)
    assert any(k == len(nums) and len(nums) > 1 for nums, k in CASES)
    assert any(len(set(nums)) < len(nums) for nums, _ in CASES)
    assert any(max(nums) < 0 for nums, _ in CASES)


@pytest.mark.parametrize("method", FAST_METHODS, ids=lambda f: f.__name__)
def test_all_methods_agree_with_brute_force(method):
    for nums, k in CASES:
        expected = max_brute_force(nums, k)
        got = method(nums, k)
        assert len(got) == len(nums) - k + 1
        assert got == expected, (method.__name__, nums, k)


def test_small_hand_example():
    nums = [2, 7, 3, 3, 5, -1, 4, 4, 1]
    for fn in METHODS.values():
        assert fn(nums, 3) == [7, 7, 5, 5, 5, 4, 4]
        assert fn(nums, 1) == nums                 # k=1：输出原数组
        assert fn(nums, len(nums)) == [7]          # k=n：只有一个窗口


@pytest.mark.parametrize("method", list(METHODS.values()), ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "nums,k",
    [([], 1), ([], 0), ([1, 2, 3], 0), ([1, 2, 3], -1), ([1, 2, 3], 4), ([5], 2),
     ([1, 2, 3], 1.5), ([1, 2, 3], True)],
)
def test_invalid_input_raises(method, nums, k):
    with pytest.raises(ValueError):
        method(nums, k)


class CountingDeque(sliding_window.deque):
    """给 collections.deque 打桩：统计入队/出队次数。"""

    pushes = 0
    pops = 0

    def append(self, x):
        type(self).pushes += 1
        super().append(x)

    def pop(self):
        type(self).pops += 1
        return super().pop()

    def popleft(self):
        type(self).pops += 1
        return super().popleft()


def _count_ops(monkeypatch, nums, k):
    CountingDeque.pushes = CountingDeque.pops = 0
    monkeypatch.setattr(sliding_window, "deque", CountingDeque)
    out = sliding_window.max_monotonic_deque(nums, k)
    return out, CountingDeque.pushes, CountingDeque.pops


def test_deque_operation_count_at_most_2n(monkeypatch):
    rng = random.Random(7)
    inputs = [
        list(range(2000)),                          # 递增：每步都弹队尾
        list(range(2000, 0, -1)),                   # 递减：每步都弹队首（过期）
        [3] * 2000,                                 # 全相等
        [rng.randint(-10**6, 10**6) for _ in range(2000)],
    ]
    for nums in inputs:
        n = len(nums)
        for k in (1, 2, 17, n // 2, n):
            out, pushes, pops = _count_ops(monkeypatch, nums, k)
            assert out == max_block_prefix_suffix(nums, k)
            assert pushes == n                      # 每个下标恰好入队一次
            assert pops <= pushes                   # 出队次数不超过入队次数
            assert pushes + pops <= 2 * n


def test_deque_worst_cases_hit_the_bound(monkeypatch):
    n = 1000
    # 严格递增、k=n：第 i 步弹掉 i-1，总 pop = n-1，总操作 = 2n-1
    _, pushes, pops = _count_ops(monkeypatch, list(range(n)), n)
    assert (pushes, pops) == (n, n - 1)
    # 严格递减、k=3：队列始终保留最近 3 个下标，过期检查共弹出 n-3 次
    _, pushes, pops = _count_ops(monkeypatch, list(range(n, 0, -1)), 3)
    assert (pushes, pops) == (n, n - 3)


def test_shortest_subarray_at_least_matches_brute_force():
    rng = random.Random(3)
    for _ in range(300):
        n = rng.randint(1, 30)
        nums = [rng.randint(-10, 10) for _ in range(n)]
        target = rng.randint(-5, 30)
        best = -1
        for i in range(n):
            s = 0
            for j in range(i, n):
                s += nums[j]
                if s >= target and (best == -1 or j - i + 1 < best):
                    best = j - i + 1
        assert shortest_subarray_at_least(nums, target) == best, (nums, target)
