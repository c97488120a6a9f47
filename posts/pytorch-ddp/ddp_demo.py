"""在 CPU 上用 gloo 后端跑 2 个进程的 DistributedDataParallel（DDP），并与单进程全批量训练对比。

运行：python ddp_demo.py。每个进程的行为与 torchrun 启动时一致：从环境变量 RANK、WORLD_SIZE、
MASTER_ADDR、MASTER_PORT、LOCAL_RANK 读取自己的身份，用 init_method="env://" 建立进程组。
为了让例子自包含，这里由父进程用 torch.multiprocessing 以 forkserver 方式派生子进程，并替它们设置这些变量。
"""
import os
import socket
import tempfile
import time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

CONFIG = dict(n_samples=96, dim=8, hidden=32, local_batch=8, epochs=3, lr=0.1,
              data_seed=0, sampler_seed=0, init_seed=1234, bucket_cap_mb=0.001)


def find_free_port():
    """让操作系统在 127.0.0.1 上挑一个空闲端口，关闭后交给 rank 0 的 TCPStore 使用。"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_dataset(n_samples, dim, data_seed, **_):
    g = torch.Generator().manual_seed(data_seed)
    x = torch.randn(n_samples, dim, generator=g, dtype=torch.float64)
    w = torch.randn(dim, 1, generator=g, dtype=torch.float64)
    y = torch.tanh(x @ w) + 0.1 * torch.randn(n_samples, 1, generator=g, dtype=torch.float64)
    return TensorDataset(x, y)


def build_model(dim, hidden, seed, **_):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, 1)).double()


def flat_params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def sgd_step(params, lr):
    """手写的 SGD：p <- p - lr * grad，然后清空梯度（等价于 optimizer.step() + zero_grad(set_to_none=True)）。"""
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


def epoch_permutation(n, sampler_seed, epoch):
    """DistributedSampler(shuffle=True) 使用的全局打乱顺序：以 seed + epoch 为种子的 randperm。"""
    g = torch.Generator().manual_seed(sampler_seed + epoch)
    return torch.randperm(n, generator=g)


def train_single_process(cfg=CONFIG, world_size=2):
    """单进程参照：每一步用 world_size 个进程在这一步所用样本的并集（全局批量）。"""
    data = make_dataset(**cfg)
    model = build_model(seed=cfg["init_seed"], **cfg)
    global_batch = cfg["local_batch"] * world_size
    losses = []
    for epoch in range(cfg["epochs"]):
        perm = epoch_permutation(len(data), cfg["sampler_seed"], epoch)
        for k in range(0, len(data), global_batch):
            x, y = data[perm[k:k + global_batch]]
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            sgd_step(model.parameters(), cfg["lr"])
            losses.append(loss.item())
    return flat_params(model), losses


def recording_allreduce_hook(state, bucket):
    """DDP 通信钩子：先 allreduce(SUM)，再除以进程数，这正是默认钩子的行为。
    另外记录每个桶的元素个数，以及第一次反向传播时各桶在通信前后的内容。"""
    buf = bucket.buffer()
    state["bucket_sizes"].append(buf.numel())
    first_step = state["step"] == 0
    if first_step:
        state["pre"].append(buf.detach().clone())
    fut = dist.all_reduce(buf, op=dist.ReduceOp.SUM, async_op=True).get_future()

    def average(f):
        out = f.value()[0].div_(dist.get_world_size())
        if first_step:
            state["post"].append(out.detach().clone())
        return out
    return fut.then(average)


class TwoHeads(nn.Module):
    """有两个输出头、每次只用其中一个的模型，用来演示"未参与计算的参数"。"""

    def __init__(self):
        super().__init__()
        self.body, self.head_a, self.head_b = nn.Linear(4, 4), nn.Linear(4, 1), nn.Linear(4, 1)

    def forward(self, x):
        return self.head_a(torch.tanh(self.body(x)))          # head_b 从不参与


def unused_parameter_demo(find_unused_parameters):
    """连续训练两步；返回 None 表示成功，否则返回报错信息的开头。"""
    torch.manual_seed(0)
    model = DDP(TwoHeads(), find_unused_parameters=find_unused_parameters)
    x = torch.randn(4, 4)
    try:
        for _ in range(2):
            model(x).sum().backward()
    except RuntimeError as err:
        return str(err)[:80]
    return None


def _worker(rank, world_size, port, cfg, out_dir):
    # torchrun 会替每个进程设置这些变量；这里手动设置，效果相同
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=60))
    try:
        torch.set_num_threads(1)
        rank, world_size = dist.get_rank(), dist.get_world_size()
        data = make_dataset(**cfg)
        # 故意让每个进程用不同的种子初始化：DDP 构造时会把 rank 0 的参数广播给所有进程
        model = build_model(seed=cfg["init_seed"] + rank, **cfg)
        before = flat_params(model)
        ddp = DDP(model, bucket_cap_mb=cfg["bucket_cap_mb"])
        after_broadcast = flat_params(model)
        state = {"bucket_sizes": [], "pre": [], "post": [], "step": 0}
        ddp.register_comm_hook(state, recording_allreduce_hook)

        sampler = DistributedSampler(data, num_replicas=world_size, rank=rank, shuffle=True,
                                     seed=cfg["sampler_seed"])
        loader = DataLoader(data, batch_size=cfg["local_batch"], sampler=sampler)
        seen, buckets_per_step, local_losses = [], [], []
        for epoch in range(cfg["epochs"]):
            sampler.set_epoch(epoch)                      # 不调用的话，每个 epoch 的顺序都一样
            seen.append(list(sampler))
            for x, y in loader:
                loss = nn.functional.mse_loss(ddp(x), y)
                n_before = len(state["bucket_sizes"])
                loss.backward()                           # 反向传播途中，桶一就绪就发起 allreduce
                buckets_per_step.append(state["bucket_sizes"][n_before:])
                sgd_step(ddp.parameters(), cfg["lr"])
                local_losses.append(loss.item())
                state["step"] += 1
        result = dict(rank=rank, before=before, after_broadcast=after_broadcast, final=flat_params(model),
                      seen=seen, buckets_per_step=buckets_per_step, local_losses=local_losses,
                      pre=state["pre"], post=state["post"],
                      param_sizes=[p.numel() for p in model.parameters()],
                      unused_error=unused_parameter_demo(False), unused_ok=unused_parameter_demo(True))
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def run_ddp(cfg=CONFIG, world_size=2, timeout=120.0):
    """派生 world_size 个进程训练，返回按 rank 排序的结果。任何进程出错都会抛出异常，超时则终止子进程。"""
    port = find_free_port()
    with tempfile.TemporaryDirectory() as out_dir:
        # forkserver：一个干净的服务进程先导入一次 torch（DDP 构造时还会用到 torch._dynamo），
        # 子进程从它 fork 出来，不必像 spawn 那样各自重新导入，启动快得多
        mp.set_forkserver_preload(["torch", "torch.distributed", "torch._dynamo"])
        ctx = mp.start_processes(_worker, args=(world_size, port, cfg, out_dir), nprocs=world_size,
                                 join=False, start_method="forkserver")
        deadline = time.monotonic() + timeout
        while not ctx.join(timeout=0.5):                  # 某个子进程报错时 join 会抛出异常
            if time.monotonic() > deadline:
                for p in ctx.processes:
                    p.terminate()
                raise TimeoutError("DDP workers did not finish in time")
        return [torch.load(os.path.join(out_dir, f"rank{r}.pt")) for r in range(world_size)]


def rounding(value, bound):
    """一个 float64 舍入量级的差只印它低于的上界：具体数字（乃至是否恰为 0）随 CPU 的
    向量指令（AVX2、AVX-512）而变，上界不变。"""
    assert value < bound, (value, bound)
    return f"< {bound:.0e}"


if __name__ == "__main__":
    r0, r1 = run_ddp()
    single, losses = train_single_process()
    maxdiff = lambda a, b: torch.max(torch.abs(a - b)).item()          # noqa: E731
    print(f"参数总数 {r0['final'].numel()}，各参数张量 {r0['param_sizes']}")
    print(f"初始化后两进程参数最大差 {maxdiff(r0['before'], r1['before']):.3f}，"
          f"DDP 构造（广播）后 {maxdiff(r0['after_broadcast'], r1['after_broadcast']):.1e}")
    pre0, pre1, post0 = r0["pre"][0], r1["pre"][0], r0["post"][0]
    print(f"第 1 步通信前两进程的局部梯度最大差 {maxdiff(pre0, pre1):.3f}；"
          f"通信后与两者平均的最大差 {maxdiff(post0, (pre0 + pre1) / 2):.1e}")
    print(f"训练 {len(losses)} 步后两进程参数最大差 {maxdiff(r0['final'], r1['final']):.1e}；"
          f"与单进程全批量训练的最大差 {rounding(maxdiff(r0['final'], single), 1e-15)}")
    local_mean = [(a + b) / 2 for a, b in zip(r0["local_losses"], r1["local_losses"])]
    print(f"单进程损失：第 1 步 {losses[0]:.4f} → 最后一步 {losses[-1]:.4f}；"
          f"两进程局部损失的平均与之最大差 {rounding(max(abs(a - b) for a, b in zip(local_mean, losses)), 1e-15)}")
    print(f"第 1 个 epoch rank 0 的前 8 个样本下标 {r0['seen'][0][:8]}，rank 1 {r1['seen'][0][:8]}")
    print(f"每步的桶（元素数）：第 1 步 {r0['buckets_per_step'][0]}，之后 {r0['buckets_per_step'][-1]}")
    print(f"未使用参数 + find_unused_parameters=False：{r0['unused_error']!r}")
    print(f"find_unused_parameters=True：{'正常' if r0['unused_ok'] is None else r0['unused_ok']}")
