"""滑动窗口最大值的四种解法（纯 Python，无第三方依赖）。

约定：nums 是长度 n >= 1 的实数序列，窗口大小 k 满足 1 <= k <= n；
第 s 个窗口为 nums[s : s + k]（s = 0, ..., n - k），输出长度为 n - k + 1 的列表。
"""
from __future__ import annotations

import heapq
import operator
from collections import deque
from typing import List, Sequence

Number = float  # int 也可以，只要支持比较和取负


def _validate(nums: Sequence[Number], k: int) -> int:
    """检查输入，返回 n = len(nums)；非法输入抛 ValueError。"""
    n = len(nums)
    if n == 0:
        raise ValueError("nums must be non-empty")
    if isinstance(k, bool):
        raise ValueError("k must be an integer, not bool")
    try:
        k = operator.index(k)
    except TypeError as exc:
        raise ValueError(f"k must be an integer, got {k!r}") from exc
    if not 1 <= k <= n:
        raise ValueError(f"k must satisfy 1 <= k <= n={n}, got k={k}")
    return n


def max_brute_force(nums: Sequence[Number], k: int) -> List[Number]:
    """对每个窗口直接取 max：O((n-k+1)k) = O(nk)。"""
    n = _validate(nums, k)
    return [max(nums[s:s + k]) for s in range(n - k + 1)]


def max_heap_lazy(nums: Sequence[Number], k: int) -> List[Number]:
    """最大堆 + 懒删除：O(n log n) 时间，最坏 O(n) 额外空间。

    heapq 是最小堆，所以存 (-value, index)。过期元素不立即删除，
    只在它浮到堆顶时才弹出（懒删除）。
    """
    n = _validate(nums, k)
    heap: list[tuple[Number, int]] = []
    out: List[Number] = []
    for i, x in enumerate(nums):
        heapq.heappush(heap, (-x, i))
        if i >= k - 1:
            start = i - k + 1              # 当前窗口 [start, i]
            while heap[0][1] < start:      # 堆顶已滑出窗口：丢弃
                heapq.heappop(heap)
            out.append(-heap[0][0])
    return out


def max_monotonic_deque(nums: Sequence[Number], k: int) -> List[Number]:
    """单调双端队列：O(n) 时间，O(k) 额外空间。

    队列 dq 中存下标，下标从前到后严格递增，对应的值严格递减；
    队首就是当前窗口最大值的下标。
    """
    n = _validate(nums, k)
    dq = deque()                           # 存下标而不是值
    out: List[Number] = []
    for i, x in enumerate(nums):
        # 1) 队首过期检查：窗口 [i-k+1, i] 不再包含下标 i-k
        if dq and dq[0] <= i - k:
            dq.popleft()
        # 2) 从队尾弹出被 x 支配（值 <= x）的旧下标，保持值严格递减
        while dq and nums[dq[-1]] <= x:
            dq.pop()
        # 3) 新下标入队尾
        dq.append(i)
        # 4) 窗口凑满 k 个元素后才开始输出
        if i >= k - 1:
            out.append(nums[dq[0]])
    return out


def max_block_prefix_suffix(nums: Sequence[Number], k: int) -> List[Number]:
    """van Herk / Gil-Werman 分块前缀-后缀最大值：O(n) 时间，O(n) 额外空间。

    把下标按 k 个一块切开。prefix[i] 是 i 所在块的块首到 i 的最大值，
    suffix[i] 是 i 到所在块块尾的最大值。长度为 k 的窗口 [s, s+k-1]
    至多跨两块，答案是 max(suffix[s], prefix[s+k-1])。
    """
    n = _validate(nums, k)
    prefix = list(nums)
    suffix = list(nums)
    for i in range(1, n):
        if i % k != 0:                     # 不是块首：延续本块的前缀最大值
            prefix[i] = max(prefix[i - 1], nums[i])
    for i in range(n - 2, -1, -1):
        if (i + 1) % k != 0:               # 不是块尾：延续本块的后缀最大值
            suffix[i] = max(suffix[i + 1], nums[i])
    return [max(suffix[s], prefix[s + k - 1]) for s in range(n - k + 1)]


def shortest_subarray_at_least(nums: Sequence[Number], target: Number) -> int:
    """变体：和 >= target 的最短非空连续子数组长度（允许负数），不存在返回 -1。

    在前缀和 P[0..n] 上维护下标递增、P 值严格递增的单调队列：O(n)。
    """
    n = len(nums)
    prefix = [0] * (n + 1)
    for i, x in enumerate(nums):
        prefix[i + 1] = prefix[i] + x
    best = n + 1
    dq = deque()
    for j in range(n + 1):
        # 队首 i 满足 P[j] - P[i] >= target：记录答案后 i 再也不会给出更短的区间
        while dq and prefix[j] - prefix[dq[0]] >= target:
            best = min(best, j - dq.popleft())
        # 队尾 P 值 >= P[j] 的下标被 j 支配（j 更靠右且前缀和更小）
        while dq and prefix[dq[-1]] >= prefix[j]:
            dq.pop()
        dq.append(j)
    return best if best <= n else -1


METHODS = {
    "brute_force": max_brute_force,
    "heap_lazy": max_heap_lazy,
    "monotonic_deque": max_monotonic_deque,
    "block_prefix_suffix": max_block_prefix_suffix,
}


# ---------------------------------------------------------------- 演示用的计数（不影响上面的算法）
def heap_lazy_stats(nums: Sequence[Number], k: int) -> tuple[int, int]:
    """按 max_heap_lazy 的步骤重放一遍，返回 (堆的峰值大小, 出堆次数)。"""
    _validate(nums, k)
    heap: list[tuple[Number, int]] = []
    peak = pops = 0
    for i, x in enumerate(nums):
        heapq.heappush(heap, (-x, i))
        peak = max(peak, len(heap))
        if i >= k - 1:
            while heap[0][1] < i - k + 1:
                heapq.heappop(heap)
                pops += 1
    return peak, pops


class _CountingDeque(deque):
    """统计 append / pop / popleft 次数的双端队列。"""

    def __init__(self, *args):
        super().__init__(*args)
        self.pushes = self.pops = 0

    def append(self, x):
        self.pushes += 1
        super().append(x)

    def pop(self):
        self.pops += 1
        return super().pop()

    def popleft(self):
        self.pops += 1
        return super().popleft()


def deque_op_counts(nums: Sequence[Number], k: int) -> tuple[int, int, int]:
    """运行 max_monotonic_deque，返回 (入队次数, 出队次数, 结束时的队列长度)。"""
    global deque
    made = []

    def factory():
        made.append(_CountingDeque())
        return made[-1]

    saved, deque = deque, factory             # 让 max_monotonic_deque 用上计数版本
    try:
        max_monotonic_deque(nums, k)
    finally:
        deque = saved
    dq = made[0]
    return dq.pushes, dq.pops, len(dq)


if __name__ == "__main__":
    import random

    example = [2, 7, 3, 3, 5, -1, 4, 4, 1]
    print("nums =", example, "k = 3")
    for name, fn in METHODS.items():
        print(f"  {name:20s}", fn(example, 3))

    n = 2000
    rng = random.Random(7)                     # 与 test_sliding_window.py 里计数测试的随机数组相同
    rand = [rng.randint(-10**6, 10**6) for _ in range(n)]
    print(f"\n懒删除堆的峰值大小与出堆次数（n = {n}，k = 17）：")
    for label, data in (("严格递增数组", list(range(n))), ("随机整数数组（种子 7）", rand)):
        peak, pops = heap_lazy_stats(data, 17)
        print(f"  {label:12s} 峰值 {peak:4d}，出堆 {pops:4d} 次")

    print(f"\n单调队列的操作计数（随机整数数组，种子 7，n = {n}）：")
    print("      k   入队   出队   总操作   结束时|D|   2n-|D|")
    for k in (1, 17, 1000):
        pushes, pops, left = deque_op_counts(rand, k)
        print(f"  {k:5d} {pushes:6d} {pops:6d} {pushes + pops:8d} {left:11d} {2 * n - left:8d}")

    n = 20_000
    rng = random.Random(0)
    data = [rng.randint(-10**6, 10**6) for _ in range(n)]
    print(f"\n随 k 变化的工作量（随机整数数组，种子 0，n = {n}）：")
    print("      k   暴力法比较次数   堆的入堆+出堆   单调队列入队+出队")
    for k in (10, 1000):
        brute = (n - k + 1) * (k - 1)
        _, heap_pops = heap_lazy_stats(data, k)
        pushes, pops, _ = deque_op_counts(data, k)
        print(f"  {k:5d} {brute:16d} {n + heap_pops:15d} {pushes + pops:19d}")
