"""集合通信的单进程模拟（纯 NumPy）：Ring AllReduce、朴素 AllReduce、二项树 AllReduce，
以及 α–β 代价模型和 float32 求和顺序的演示。

N 个 rank 的数据用一个列表 data[r]（长度 n 的一维数组）表示。每一"步"里所有 rank 同时发送，
先把本步的全部消息拷贝出来，再统一投递，模拟全双工链路上的同步轮次。
Stats 记录每个 rank 发送/接收的字节数与每一步的消息，用来核对带宽公式。
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Stats:
    N: int
    sent: np.ndarray = None          # 每个 rank 发送的字节数
    recv: np.ndarray = None          # 每个 rank 接收的字节数
    steps: list = field(default_factory=list)   # 每步的消息列表 [(src, dst, nbytes), ...]

    def __post_init__(self):
        self.sent = np.zeros(self.N, dtype=np.int64)
        self.recv = np.zeros(self.N, dtype=np.int64)

    def deliver(self, messages):
        for src, dst, nbytes in messages:
            self.sent[src] += nbytes
            self.recv[dst] += nbytes
        self.steps.append(messages)


def chunk_bounds(n, N):
    """把长度 n 切成 N 块（前 n % N 块多一个元素），返回 N+1 个边界。"""
    sizes = np.full(N, n // N)
    sizes[: n % N] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def _nbytes(a):
    return a.size * a.itemsize if a.dtype != object else a.size   # 字符串演示时按元素个数计


# ---------------------------------------------------------------- Ring：reduce-scatter + all-gather
def ring_reduce_scatter(bufs, op=np.add, stats=None):
    """原地进行。第 s 步（s = 0..N-2）rank r 把第 (r - s) mod N 块发给 r+1，
    接收方计算 op(收到的部分和, 自己的块)。结束后 rank r 持有第 (r+1) mod N 块的完整归约结果。"""
    N = len(bufs)
    b = chunk_bounds(len(bufs[0]), N)
    for s in range(N - 1):
        msgs, payload = [], []
        for r in range(N):
            c = (r - s) % N
            piece = bufs[r][b[c]:b[c + 1]].copy()
            payload.append(((r + 1) % N, c, piece))
            msgs.append((r, (r + 1) % N, _nbytes(piece)))
        for dst, c, piece in payload:
            bufs[dst][b[c]:b[c + 1]] = op(piece, bufs[dst][b[c]:b[c + 1]])
        if stats is not None:
            stats.deliver(msgs)
    return bufs


def ring_all_gather(bufs, stats=None):
    """原地进行。假定 rank r 持有正确的第 (r+1) mod N 块；第 s 步 rank r 把第 (r+1-s) mod N 块
    发给 r+1，接收方直接覆盖。N-1 步之后每个 rank 都有全部 N 块。"""
    N = len(bufs)
    b = chunk_bounds(len(bufs[0]), N)
    for s in range(N - 1):
        msgs, payload = [], []
        for r in range(N):
            c = (r + 1 - s) % N
            piece = bufs[r][b[c]:b[c + 1]].copy()
            payload.append(((r + 1) % N, c, piece))
            msgs.append((r, (r + 1) % N, _nbytes(piece)))
        for dst, c, piece in payload:
            bufs[dst][b[c]:b[c + 1]] = piece
        if stats is not None:
            stats.deliver(msgs)
    return bufs


def ring_allreduce(data, op=np.add):
    """Ring AllReduce = reduce-scatter 接 all-gather。返回 (每个 rank 的结果, Stats)。"""
    bufs = [np.array(d, copy=True) for d in data]
    stats = Stats(len(bufs))
    ring_reduce_scatter(bufs, op, stats)
    ring_all_gather(bufs, stats)
    return bufs, stats


def ring_fold_reference(data, op=np.add):
    """Ring 对第 c 块的归约顺序是从 rank c 开始沿环的左折叠：((x_c ⊕ x_{c+1}) ⊕ ...) ⊕ x_{c-1}。
    这里按这个顺序直接算出来，用来和模拟结果逐位比较。"""
    N = len(data)
    b = chunk_bounds(len(data[0]), N)
    out = np.array(data[0], copy=True)
    for c in range(N):
        sl = slice(b[c], b[c + 1])
        acc = np.array(data[c][sl], copy=True)
        for j in range(1, N):
            acc = op(acc, data[(c + j) % N][sl])
        out[sl] = acc
    return out


# ---------------------------------------------------------------- 对照算法
def naive_allreduce(data, root=0):
    """所有 rank 把整个向量发给 root，root 依 rank 顺序求和后再逐个发回（root 的链路串行）。"""
    N = len(data)
    stats = Stats(N)
    total = np.array(data[root], copy=True)
    for r in range(N):
        if r != root:
            stats.deliver([(r, root, _nbytes(data[r]))])
            total = total + data[r]
    for r in range(N):
        if r != root:
            stats.deliver([(root, r, _nbytes(total))])
    return [total.copy() for _ in range(N)], stats


def tree_allreduce(data):
    """二项树归约到 rank 0，再沿二项树广播（N 为 2 的幂）。每轮发送整个向量。"""
    N = len(data)
    assert N & (N - 1) == 0, "演示版只处理 2 的幂"
    stats = Stats(N)
    bufs = [np.array(d, copy=True) for d in data]
    k = 1
    while k < N:                                   # 归约：第 j 轮，低 j 位为 0、第 j 位为 1 的 rank 发给 r - 2^j
        msgs = [(r, r - k, _nbytes(bufs[r])) for r in range(N) if r % (2 * k) == k]
        for src, dst, _ in msgs:
            bufs[dst] = bufs[dst] + bufs[src]
        stats.deliver(msgs)
        k *= 2
    k //= 2
    while k >= 1:                                  # 广播：反过来
        msgs = [(r, r + k, _nbytes(bufs[r])) for r in range(N) if r % (2 * k) == 0]
        for src, dst, _ in msgs:
            bufs[dst] = bufs[src].copy()
        stats.deliver(msgs)
        k //= 2
    return bufs, stats


# ---------------------------------------------------------------- α–β 代价模型
def cost_ring(N, nbytes, alpha, beta):
    return 2 * (N - 1) * alpha + 2 * (N - 1) / N * nbytes * beta


def cost_tree(N, nbytes, alpha, beta):
    return 2 * np.ceil(np.log2(N)) * (alpha + nbytes * beta)


def cost_naive(N, nbytes, alpha, beta):
    return 2 * (N - 1) * (alpha + nbytes * beta)


def crossover_bytes(N, alpha, beta):
    """ring 与二项树耗时相等的消息大小：消息更大时 ring 更快。"""
    L = np.ceil(np.log2(N))
    return (2 * (N - 1) - 2 * L) * alpha / ((2 * L - 2 * (N - 1) / N) * beta)


def simulated_time(stats, alpha, beta):
    """每一步的耗时 = α + β·(该步最大的单条消息)；假定每个 rank 每步至多收发一条消息。"""
    return sum(alpha + beta * max(m[2] for m in step) for step in stats.steps)


# ---------------------------------------------------------------- 浮点求和顺序
def float32_order_demo(N=8, n=100_000, seed=0):
    """N 个 rank 的 float32 "梯度"，量级跨 6 个数量级。比较 ring、按 rank 顺序、反向环三种顺序。"""
    rng = np.random.default_rng(seed)
    data = [(rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(np.float32) for _ in range(N)]
    ring, _ = ring_allreduce(data)
    seq = data[0].copy()
    for r in range(1, N):
        seq = seq + data[r]                        # rank 0,1,...,N-1 依次相加（float32）
    rev, _ = ring_allreduce(data[::-1])            # 环的方向反过来
    exact = np.sum(np.stack(data).astype(np.float64), axis=0)
    abs_sum = np.sum(np.abs(np.stack(data).astype(np.float64)), axis=0)
    return dict(data=data, ring=ring, seq=seq, rev=rev[0], exact=exact, abs_sum=abs_sum)


if __name__ == "__main__":
    N, n = 4, 12
    data = [np.arange(n, dtype=np.float64) * 10 ** r for r in range(N)]
    out, st = ring_allreduce(data)
    print(f"== Ring AllReduce：N = {N}，n = {n}（rank r 的数据是 arange(n)·10^r）==")
    print("期望:", sum(data).astype(int))
    print("rank 0..3 的结果全部相等:", all(np.array_equal(o, sum(data)) for o in out))
    print("步数:", len(st.steps), "= 2(N-1)")
    print("每个 rank 发送字节:", st.sent, "；公式 2(N-1)/N·n·8 =", 2 * (N - 1) * n * 8 // N)

    print("\n== 非交换运算（字符串拼接）暴露了每块的归约顺序 ==")
    labels = [np.array([f"{r}"] * N, dtype=object) for r in range(N)]
    res, _ = ring_allreduce(labels)
    print("ring 结果（第 c 个元素属于第 c 块）:", list(res[0]))
    print("所有 rank 一致:", all(list(x) == list(res[0]) for x in res))

    print("\n== 各算法每个 rank 的发送量（单位：n 个元素的整向量）==")
    N, n = 8, 8 * 1024
    data = [np.ones(n) for _ in range(N)]
    for name, f in [("ring", ring_allreduce), ("naive", naive_allreduce), ("tree", tree_allreduce)]:
        _, s = f(data)
        print(f"{name:5s}: 每个 rank 发送 {np.round(s.sent / (n * 8), 3)}，最大 {s.sent.max() / (n * 8):.3f}，"
              f"步数 {len(s.steps)}")

    print("\n== α–β 模型（示意参数：α = 5 μs，带宽 10 GB/s，即 β = 1e-10 s/B）==")
    alpha, beta = 5e-6, 1e-10
    for N in (8, 64, 512):
        nstar = crossover_bytes(N, alpha, beta)
        print(f"N = {N:3d}: 交叉点 {nstar / 1e3:8.1f} KB；100 MB 梯度: ring {cost_ring(N, 1e8, alpha, beta) * 1e3:7.2f} ms，"
              f"tree {cost_tree(N, 1e8, alpha, beta) * 1e3:7.2f} ms，naive {cost_naive(N, 1e8, alpha, beta) * 1e3:8.1f} ms")

    print("\n== float32：求和顺序不同，结果的最低位不同 ==")
    d = float32_order_demo()
    ring, seq, rev, exact, abs_sum = d["ring"], d["seq"], d["rev"], d["exact"], d["abs_sum"]
    print("ring 各 rank 逐位一致:", all(np.array_equal(x, ring[0]) for x in ring))
    print("ring 与按块循环左折叠逐位一致:", np.array_equal(ring[0], ring_fold_reference(d["data"])))
    print(f"ring 与 rank 顺序求和不同的元素比例: {np.mean(ring[0] != seq):.3f}")
    print(f"ring 与反向环不同的元素比例:       {np.mean(ring[0] != rev):.3f}")
    u = 2.0 ** -24
    for name, v in [("ring", ring[0]), ("rank 顺序", seq), ("反向环", rev)]:
        err = np.abs(v.astype(np.float64) - exact)
        print(f"{name:8s}: max |误差| / ((N-1)·u·Σ|x|) = {np.max(err / ((8 - 1) * u * abs_sum)):.3f}")
