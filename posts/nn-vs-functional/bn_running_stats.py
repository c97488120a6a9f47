"""BatchNorm 滑动统计量的 NumPy 版本（不依赖 torch），供画图使用。
递推与 nn_functional_demo.bn_running_stats 相同，但返回每一步之后的值；
test_bn_running_stats.py 把它与 PyTorch 的 nn.BatchNorm1d 逐步对照。"""
import numpy as np

LOC = np.array([2.0, -1.0, 0.5])        # 演示数据各通道的均值与标准差，与 nn_functional_demo.make_batches 相同
SCALE = np.array([0.5, 2.0, 1.0])


def make_batches_np(k=50, n=16, seed=0):
    """k 个批，每批 n 个样本、3 个通道，通道 c 服从 N(LOC[c], SCALE[c]²)。"""
    rng = np.random.default_rng(seed)
    return [LOC + SCALE * rng.standard_normal((n, len(LOC))) for _ in range(k)]


def running_stats_trajectory(batches, momentum=0.1):
    """返回 (running_mean, running_var)，形状都是 (k+1, C)，第 t 行是处理完前 t 个批之后的值
    （第 0 行是初值 0 与 1）。momentum=None 时第 t 步取 m = 1/t，即累积平均。"""
    C = batches[0].shape[1]
    rm, rv = [np.zeros(C)], [np.ones(C)]
    for t, xb in enumerate(batches, start=1):
        m = 1.0 / t if momentum is None else momentum
        rm.append((1 - m) * rm[-1] + m * xb.mean(0))
        rv.append((1 - m) * rv[-1] + m * xb.var(0, ddof=1))     # 无偏方差：除以 n-1
    return np.array(rm), np.array(rv)
