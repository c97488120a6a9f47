"""controlnet_zero_conv 的测试：零卷积的初始恒等性、梯度的“逐层苏醒”、有限差分校验与训练。"""
import copy

import numpy as np
import pytest

from controlnet_zero_conv import (adam_train, block_forward, controlnet_forward, flat_items,
                                  grad_norms, init_controlnet, loss_and_grads, make_task,
                                  multi_controlnet, sgd_step)

F_DOWN = 4


@pytest.fixture
def task():
    rng = np.random.default_rng(0)
    base, x, c, target = make_task(rng, B=4)
    ctrl = init_controlnet(base, c.shape[1], rng)
    return base, ctrl, x, c, target


def test_output_equals_locked_model_at_init(task):
    base, ctrl, x, c, _ = task
    y, base_out, _ = controlnet_forward(base, ctrl, x, c, F_DOWN)
    assert np.array_equal(y, base_out)
    assert np.array_equal(base_out, block_forward(base, x)[0])


def test_only_output_zero_conv_gets_gradient_at_init(task):
    base, ctrl, x, c, target = task
    L, g, y = loss_and_grads(base, ctrl, x, c, target, F_DOWN)
    _, _, cache = controlnet_forward(base, ctrl, x, c, F_DOWN)
    h = cache[4]                                                  # 可训练副本的输出
    dy = y - target
    np.testing.assert_allclose(g["Z2W"], np.einsum("bohw,bchw->oc", dy, h), rtol=1e-12)
    np.testing.assert_allclose(g["Z2b"], dy.sum(axis=(0, 2, 3)), rtol=1e-12)
    assert np.linalg.norm(g["Z2W"]) > 1.0
    for name, v in flat_items(g):
        if not name.startswith("Z2"):
            assert np.all(v == 0.0), name                         # 恰好为 0，而不只是很小


def test_gradients_wake_up_layer_by_layer(task):
    base, ctrl, x, c, target = task
    history = []
    for _ in range(3):
        _, g, _ = loss_and_grads(base, ctrl, x, c, target, F_DOWN)
        history.append(grad_norms(g))
        sgd_step(ctrl, g, lr=1e-3)
    first, second, third = history
    assert first["Z2W"] > 0 and first["copy.A1"] == first["Z1W"] == first["P"] == 0.0
    assert second["copy.A1"] > 0 and second["copy.A2"] > 0 and second["Z1W"] > 0 and second["P"] == 0.0
    assert third["P"] > 0


def test_first_step_changes_output_exactly_by_the_zero_conv_update(task):
    base, ctrl, x, c, target = task
    L0, g, y0 = loss_and_grads(base, ctrl, x, c, target, F_DOWN)
    h = controlnet_forward(base, ctrl, x, c, F_DOWN)[2][4]
    lr = 1e-3
    dW, db = -lr * g["Z2W"], -lr * g["Z2b"]
    sgd_step(ctrl, g, lr)
    L1, _, y1 = loss_and_grads(base, ctrl, x, c, target, F_DOWN)
    # 第一步只有 Z2 变了，h 不变，所以输出的变化恰为 dW h + db
    np.testing.assert_allclose(y1 - y0, np.einsum("oc,bchw->bohw", dW, h) + db[None, :, None, None],
                               atol=1e-12)
    assert np.abs(y1 - y0).max() > 1e-2 and L1 < L0


def perturbed(ctrl, rng):
    out = copy.deepcopy(ctrl)
    for _, v in flat_items(out):
        v += 0.3 * rng.standard_normal(v.shape)
    return out


@pytest.mark.parametrize("at_init", [True, False])
def test_gradients_match_finite_differences(task, at_init):
    base, ctrl, x, c, target = task
    rng = np.random.default_rng(1)
    if not at_init:
        ctrl = perturbed(ctrl, rng)
    _, g, _ = loss_and_grads(base, ctrl, x, c, target, F_DOWN)
    grads = dict(flat_items(g))
    h = 1e-6
    for name, v in flat_items(ctrl):
        for idx in [tuple(rng.integers(0, s) for s in v.shape) for _ in range(4)]:
            old = v[idx]
            v[idx] = old + h
            Lp = loss_and_grads(base, ctrl, x, c, target, F_DOWN)[0]
            v[idx] = old - h
            Lm = loss_and_grads(base, ctrl, x, c, target, F_DOWN)[0]
            v[idx] = old
            fd = (Lp - Lm) / (2 * h)
            assert abs(fd - grads[name][idx]) <= 1e-5 * max(1.0, abs(fd)), (name, idx, fd, grads[name][idx])


def test_training_injects_condition_and_leaves_base_untouched():
    rng = np.random.default_rng(0)
    base, x, c, target = make_task(rng, B=8)
    base_before = copy.deepcopy(base)
    ctrl = init_controlnet(base, c.shape[1], np.random.default_rng(1))
    losses = adam_train(base, ctrl, x, c, target, F_DOWN, steps=200)
    assert losses[-1] < 0.12 * losses[0]
    for k in base:
        assert np.array_equal(base[k], base_before[k])
    y0, base_out, _ = controlnet_forward(base, ctrl, x, c, F_DOWN, scale=0.0)
    assert np.array_equal(y0, base_out)                           # 强度为 0 时退回原模型


def test_random_init_of_zero_convs_would_perturb_the_base_model(task):
    base, _, x, c, _ = task
    rnd = init_controlnet(base, c.shape[1], np.random.default_rng(1), zero=False)
    y, base_out, _ = controlnet_forward(base, rnd, x, c, F_DOWN)
    assert np.linalg.norm(y - base_out) / np.linalg.norm(base_out) > 0.5


def test_multi_controlnet_is_a_scaled_sum(task):
    base, ctrl1, x, c, _ = task
    rng = np.random.default_rng(2)
    ctrl1 = perturbed(ctrl1, rng)
    ctrl2 = perturbed(init_controlnet(base, c.shape[1], rng), rng)
    c2 = rng.random(c.shape)
    conds = [(x, c), (x, c2)]
    base_out = block_forward(base, x)[0]
    r1 = multi_controlnet(base, [ctrl1, ctrl2], conds, F_DOWN, [1.0, 0.0]) - base_out
    r2 = multi_controlnet(base, [ctrl1, ctrl2], conds, F_DOWN, [0.0, 1.0]) - base_out
    assert np.array_equal(multi_controlnet(base, [ctrl1, ctrl2], conds, F_DOWN, [0.0, 0.0]), base_out)
    np.testing.assert_allclose(multi_controlnet(base, [ctrl1, ctrl2], conds, F_DOWN, [0.5, 2.0]),
                               base_out + 0.5 * r1 + 2.0 * r2, atol=1e-10)
    assert np.linalg.norm(r1) > 1.0 and np.linalg.norm(r2) > 1.0
