"""ddp_rules（画图用的纯 Python 规则）与 PyTorch 的实现对照：DistributedSampler 的切分、
分桶函数 torch.distributed._compute_bucket_assignment_by_size，以及正文实验的模型与配置。
与真实 DDP 运行中观察到的桶的对照在 test_ddp_demo.py 里（复用那里的两进程运行）。"""
import pytest
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from ddp_demo import CONFIG, build_model, epoch_permutation
from ddp_rules import DEMO, assign_buckets, mlp_parameters, overlap_timeline, shard_indices


@pytest.mark.parametrize("n", [1, 3, 10, 12, 96, 97])
@pytest.mark.parametrize("world_size", [2, 3, 4, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shards_match_distributed_sampler(n, world_size, drop_last):
    data = list(range(n))
    if drop_last and n < world_size:
        return                                                   # 此时 DistributedSampler 不给任何样本
    for shuffle in (False, True):
        order = epoch_permutation(n, 0, 1).tolist() if shuffle else data
        for rank in range(world_size):
            s = DistributedSampler(data, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=0,
                                   drop_last=drop_last)
            s.set_epoch(1)
            assert shard_indices(order, world_size, rank, drop_last) == list(s)


@pytest.mark.parametrize("seed", range(5))
def test_bucket_assignment_matches_pytorch(seed):
    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(1, 3000, (12,), generator=g).tolist()
    for element_size, dtype in ((4, torch.float32), (8, torch.float64)):
        tensors = [torch.empty(n, dtype=dtype) for n in sizes]
        for limits in ([4096], [1024, 8192], [2 ** 62]):
            ref, _ = dist._compute_bucket_assignment_by_size(tensors, limits, [False] * len(sizes))
            assert assign_buckets(sizes, element_size, limits) == ref


def test_demo_model_and_config_match_ddp_demo():
    assert {k: CONFIG[k] for k in ("dim", "hidden", "bucket_cap_mb")} == \
        {k: DEMO[k] for k in ("dim", "hidden", "bucket_cap_mb")}
    model = build_model(seed=0, **CONFIG)
    assert DEMO["element_size"] == next(model.parameters()).element_size()
    assert mlp_parameters(DEMO["dim"], DEMO["hidden"]) == \
        [(name, p.numel()) for name, p in model.named_parameters()]


def test_overlap_timeline_respects_readiness_and_order():
    sizes = [100, 10, 100, 10]
    buckets = [[0, 1], [2, 3]]                                   # 就绪顺序的下标
    compute, comm = overlap_timeline(sizes, 4, buckets, compute_per_elem=0.01, alpha=0.5, beta=400.0)
    assert compute[-1][1] == pytest.approx(2.2)                  # 反向总耗时
    assert comm[0][0] == pytest.approx(compute[1][1])            # 桶 0 在它的最后一个张量算完时开始
    assert comm[1][0] == pytest.approx(max(compute[3][1], comm[0][1]))
    assert comm[1][1] - comm[1][0] == pytest.approx(0.5 + 110 * 4 / 400.0)
