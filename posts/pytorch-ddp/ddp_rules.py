"""DistributedSampler 的切分规则与 DDP 的分桶规则，用纯 Python 重写（不依赖 torch），供画图使用。
test_ddp_rules.py 把它们与 PyTorch 的实现逐一对照，所以图与 PyTorch 的行为不会悄悄分叉。

另有一个示意性的时间模型：反向传播逐层产生梯度，一个桶的梯度全部就绪后发起 all-reduce，
耗时按正文的 α + M/β 估计，各桶按顺序依次通信。
"""
import math

MIB = 1024 * 1024


# ---------------------------------------------------------------- DistributedSampler
def shard_indices(order, world_size, rank, drop_last=False):
    """DistributedSampler 的切分：order 是这个 epoch 的全局顺序（所有进程相同）。
    drop_last=False 时从头部重复若干下标，把长度补到 ⌈N/W⌉·W；否则截掉尾部，只留 ⌊N/W⌋·W 个。
    然后 rank r 取第 r, r+W, r+2W, ... 个。"""
    n = len(order)
    if drop_last and n % world_size:
        num_samples = math.ceil((n - world_size) / world_size)
    else:
        num_samples = math.ceil(n / world_size)
    total = num_samples * world_size
    if drop_last:
        padded = list(order[:total])
    else:
        reps = math.ceil(total / n)
        padded = (list(order) * reps)[:total]          # 补齐：循环地从头部取
    return padded[rank:total:world_size]


# ---------------------------------------------------------------- 分桶
def assign_buckets(sizes, element_size, limits):
    """按给定顺序把张量（元素个数 sizes）装桶：桶里累计的字节数一旦达到当前上限就封口，
    下一个桶改用 limits 中的下一个上限（用完后一直用最后一个）。单个张量从不拆开。
    返回 [[张量下标, ...], ...]。"""
    buckets, current, nbytes, k = [], [], 0, 0
    for i, n in enumerate(sizes):
        current.append(i)
        nbytes += n * element_size
        if nbytes >= limits[k]:
            buckets.append(current)
            current, nbytes, k = [], 0, min(k + 1, len(limits) - 1)
    if current:
        buckets.append(current)
    return buckets


def ddp_bucket_sizes(param_sizes, element_size, bucket_cap_mb, first_iteration):
    """本文设置下（find_unused_parameters=False，显式给出 bucket_cap_mb）DDP 每个桶的元素个数，按通信顺序。
    第一次迭代：所有参数一个桶。之后：按梯度的就绪顺序（这里即参数的逆序）以 bucket_cap_mb 重新分桶。"""
    ready = list(reversed(param_sizes))
    if first_iteration:
        return [sum(ready)]
    cap = int(bucket_cap_mb * MIB)
    return [sum(ready[i] for i in b) for b in assign_buckets(ready, element_size, [cap])]


# ---------------------------------------------------------------- 示意性的时间线
def overlap_timeline(layer_sizes, element_size, buckets, compute_per_elem, alpha, beta):
    """反向按层的逆序进行，第 l 层耗时 compute_per_elem × 元素数；buckets 是按就绪顺序（逆序层号）
    的分组。返回 (各层的 (开始, 结束), 各桶的 (开始, 结束))。桶 j 在其所有层算完、且桶 j-1
    通信结束后开始通信，耗时 alpha + 字节数 / beta。"""
    ready_sizes = list(reversed(layer_sizes))
    t, compute, ready_at = 0.0, [], []
    for n in ready_sizes:
        compute.append((t, t + compute_per_elem * n))
        t += compute_per_elem * n
        ready_at.append(t)
    comm, free = [], 0.0
    for b in buckets:
        start = max(max(ready_at[i] for i in b), free)
        free = start + alpha + sum(ready_sizes[i] for i in b) * element_size / beta
        comm.append((start, free))
    return compute, comm


# ---------------------------------------------------------------- 正文实验的模型
DEMO = dict(dim=8, hidden=32, bucket_cap_mb=0.001, element_size=8)   # 与 ddp_demo.CONFIG 一致（float64）


def mlp_parameters(dim, hidden):
    """ddp_demo.build_model 的参数（名字, 元素个数），按 model.parameters() 的顺序。"""
    return [("0.weight", hidden * dim), ("0.bias", hidden), ("2.weight", hidden * hidden),
            ("2.bias", hidden), ("4.weight", hidden), ("4.bias", 1)]
