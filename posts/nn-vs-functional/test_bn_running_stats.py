"""画图用的纯 NumPy 代码（bn_running_stats.py、nnf_figures.py 里的名字）与 PyTorch 对照。"""
import inspect

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bn_running_stats import LOC, SCALE, make_batches_np, running_stats_trajectory
from nn_functional_demo import bn_torch_running_stats, make_batches
from nnf_figures import BN_BUFFERS, BN_PARAMETERS, F_BATCH_NORM_ARGS


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_trajectory_matches_torch_batchnorm_after_every_batch(momentum):
    batches = make_batches()
    rm, rv = running_stats_trajectory([b.double().numpy() for b in batches], momentum)
    assert rm.shape == rv.shape == (len(batches) + 1, 3)
    for t in range(1, len(batches) + 1):
        tm, tv, _ = bn_torch_running_stats(batches[:t], momentum)
        np.testing.assert_allclose(rm[t], tm.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(rv[t], tv.numpy(), rtol=0, atol=1e-12)


def test_numpy_batches_have_the_same_distribution_as_the_demo():
    x = torch.cat(make_batches(k=1, n=200_000)).double().numpy()
    se = SCALE / np.sqrt(len(x))
    assert np.all(np.abs(x.mean(0) - LOC) < 5 * se)             # make_batches 用的是同一组 LOC、SCALE
    assert np.all(np.abs(x.std(0) / SCALE - 1) < 0.01)
    y = np.concatenate(make_batches_np(k=2000))
    assert np.all(np.abs(y.mean(0) - LOC) < 5 * SCALE / np.sqrt(len(y)))


def test_state_names_in_the_diagram_are_pytorchs():
    bn = nn.BatchNorm1d(3)
    assert tuple(n for n, _ in bn.named_parameters()) == BN_PARAMETERS
    assert tuple(n for n, _ in bn.named_buffers()) == BN_BUFFERS
    sig = inspect.signature(F.batch_norm).parameters
    assert tuple(sig) == F_BATCH_NORM_ARGS
    assert sig["training"].default is False                     # 与 F.dropout 的默认值相反
