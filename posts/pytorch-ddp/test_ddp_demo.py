"""ddp_demo 的测试：真的用 gloo 起 2 个进程训练，检查广播、梯度平均、副本一致、与单进程全批量训练一致。
整个模块只派生一次子进程（module 级 fixture）。"""
import pytest
import torch
from torch.utils.data import DistributedSampler

from ddp_demo import (CONFIG, build_model, epoch_permutation, flat_params, make_dataset, run_ddp,
                      train_single_process)
from ddp_rules import DEMO, ddp_bucket_sizes

N = CONFIG["n_samples"]


@pytest.fixture(scope="module")
def ddp_results():
    return run_ddp(CONFIG, world_size=2, timeout=45.0)


@pytest.fixture(scope="module")
def single():
    return train_single_process(CONFIG, world_size=2)


def test_ddp_broadcasts_rank0_parameters_at_construction(ddp_results):
    r0, r1 = ddp_results
    assert torch.max(torch.abs(r0["before"] - r1["before"])) > 0.1          # 两个进程的初始化确实不同
    assert torch.equal(r0["after_broadcast"], r1["after_broadcast"])       # 构造 DDP 后逐位相同
    assert torch.equal(r0["after_broadcast"], flat_params(build_model(seed=CONFIG["init_seed"], **CONFIG)))


def test_allreduce_averages_the_local_gradients(ddp_results):
    r0, r1 = ddp_results
    assert len(r0["pre"]) == len(r0["post"]) >= 1
    for g0, g1, a0, a1 in zip(r0["pre"], r1["pre"], r0["post"], r1["post"]):
        assert torch.max(torch.abs(g0 - g1)) > 1e-3                          # 局部梯度不同（数据不同）
        assert torch.equal(a0, a1)                                         # 通信后完全相同
        assert torch.max(torch.abs(a0 - (g0 + g1) / 2)) <= 1e-15           # 并且是平均值


def test_replicas_stay_bitwise_identical(ddp_results):
    r0, r1 = ddp_results
    assert torch.equal(r0["final"], r1["final"])


def test_ddp_equals_single_process_on_the_global_batch(ddp_results, single):
    final_single, losses = single
    # float64 下唯一的差别是求和顺序（两个 8 样本均值的平均 vs 16 样本均值），18 步累积远小于 1e-12
    assert torch.max(torch.abs(ddp_results[0]["final"] - final_single)) < 1e-12
    assert losses[-1] < losses[0] / 3                                       # 训练确实在进行
    mean_local = [(a + b) / 2 for a, b in zip(ddp_results[0]["local_losses"], ddp_results[1]["local_losses"])]
    assert max(abs(a - b) for a, b in zip(mean_local, losses)) < 1e-12


def test_sampler_shards_partition_each_epoch(ddp_results):
    r0, r1 = ddp_results
    for epoch in range(CONFIG["epochs"]):
        a, b = r0["seen"][epoch], r1["seen"][epoch]
        assert len(a) == len(b) == N // 2
        assert set(a).isdisjoint(b) and set(a) | set(b) == set(range(N))
        perm = epoch_permutation(N, CONFIG["sampler_seed"], epoch).tolist()
        assert a == perm[0::2] and b == perm[1::2]                          # rank r 取全局顺序的 r, r+W, ...
    assert r0["seen"][0] != r0["seen"][1]                                  # set_epoch 让每个 epoch 重新打乱


def test_gradients_are_bucketed(ddp_results):
    r0, _ = ddp_results
    total = sum(r0["param_sizes"])
    for sizes in r0["buckets_per_step"]:
        assert sum(sizes) == total                                          # 每一步所有梯度恰好通信一次
    assert len(r0["buckets_per_step"][-1]) >= 2                             # bucket_cap_mb 很小时分成多个桶
    # 第一个桶装的是最先算好梯度的参数，也就是最后一层（偏置 1 + 权重 32）
    assert r0["buckets_per_step"][-1][0] >= 33


def test_bucket_rule_used_by_the_figures_matches_the_run(ddp_results):
    """ddp_rules.ddp_bucket_sizes（画图用的纯 Python 规则）给出的桶与这次真实运行中每一步观察到的相同。"""
    r0, _ = ddp_results
    args = (r0["param_sizes"], DEMO["element_size"], CONFIG["bucket_cap_mb"])
    assert r0["buckets_per_step"][0] == ddp_bucket_sizes(*args, first_iteration=True)
    for sizes in r0["buckets_per_step"][1:]:
        assert sizes == ddp_bucket_sizes(*args, first_iteration=False)


def test_unused_parameters_need_find_unused_parameters(ddp_results):
    for r in ddp_results:
        assert r["unused_error"] is not None and "Expected to have finished reduction" in r["unused_error"]
        assert r["unused_ok"] is None


# ------------------------------------------------------------ 不需要进程组的 DistributedSampler 性质
def test_without_set_epoch_the_order_repeats():
    data = make_dataset(**CONFIG)
    s = DistributedSampler(data, num_replicas=2, rank=0, shuffle=True, seed=0)
    assert list(s) == list(s)
    s.set_epoch(1)
    first = list(s)
    s.set_epoch(2)
    assert list(s) != first


def test_uneven_dataset_is_padded_or_dropped():
    data = list(range(95))
    shards = [list(DistributedSampler(data, num_replicas=2, rank=r, shuffle=False)) for r in range(2)]
    assert [len(x) for x in shards] == [48, 48]                             # 补齐到 96：重复了一个样本
    assert len(set(shards[0]) | set(shards[1])) == 95
    dropped = [list(DistributedSampler(data, num_replicas=2, rank=r, shuffle=False, drop_last=True))
               for r in range(2)]
    assert [len(x) for x in dropped] == [47, 47] and len(set(dropped[0]) | set(dropped[1])) == 94
