"""nn_functional_demo 的测试：模块与函数的逐元素等价、状态注册、train/eval 行为、BN 递推、hook、
权重绑定的梯度累加，以及 functional_call 内循环的二阶梯度（与有限差分对照）。"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from nn_functional_demo import (BadDropoutNet, GoodDropoutNet, Holder, ModuleDropoutNet,
                                TiedAutoencoder, bn_batch_dependence, bn_running_stats,
                                bn_torch_running_stats, dropout_stats, equivalence_report,
                                eval_is_deterministic, holder_report, maml_gradient_check,
                                make_batches, sequential_with_hooks, tied_weights_grad_check)


# ------------------------------------------------------------ 等价性
def test_module_and_functional_agree_to_1e6():
    rep = equivalence_report()
    assert set(rep) >= {"conv2d", "linear", "relu", "cross_entropy", "batch_norm_eval"}
    for name, err in rep.items():
        assert err < 1e-6, (name, err)


# ------------------------------------------------------------ Parameter / buffer / 普通属性
def test_registration_decides_visibility():
    rep = holder_report()
    assert rep["parameters"] == ["w"]
    assert rep["buffers"] == ["stat", "cache"]
    assert rep["state_dict"] == ["w", "stat"]                  # 非持久 buffer 与普通属性都不在
    d = rep["dtypes_after_to"]
    assert d["w"] == d["stat"] == d["cache"] == torch.float64
    assert d["plain"] == torch.float32                          # .to() 看不见它


def test_state_dict_roundtrip_loses_plain_attribute():
    m = Holder()
    with torch.no_grad():
        m.w.fill_(2.0)
    m.stat.fill_(3.0)
    m.plain = torch.full((3,), 4.0)
    m2 = Holder()
    m2.load_state_dict(m.state_dict())
    assert torch.equal(m2.w.detach(), torch.full((3,), 2.0))
    assert torch.equal(m2.stat, torch.full((3,), 3.0))
    assert torch.equal(m2.plain, torch.zeros(3))                # 没被保存，也没被恢复


def test_sgd_step_over_parameters_only_moves_parameters():
    # 优化器只认 model.parameters()；这里手写一步 SGD（等价于 torch.optim.SGD 的一步，
    # 不用 torch.optim 是因为它首次 step 会顺带导入 torch._dynamo，在慢机器上要好几秒）
    m = Holder()
    loss = m(torch.ones(3)).sum()
    loss.backward()
    with torch.no_grad():
        for p in m.parameters():
            p -= 0.5 * p.grad
    # d loss / d w = x = 1，w <- 1 - 0.5 * 1
    assert torch.allclose(m.w.detach(), torch.full((3,), 0.5))
    assert torch.equal(m.stat, torch.zeros(3)) and torch.equal(m.plain, torch.zeros(3))
    assert m.stat.grad is None and not m.stat.requires_grad


# ------------------------------------------------------------ dropout
def test_inverted_dropout_scaling():
    p, n = 0.3, 200_000
    frac0, mean, nonzero = dropout_stats(p, n)
    # 置零比例 ~ Binomial(n, p)/n；均值的方差为 p/((1-p) n)；容差取 4 个标准误
    assert abs(frac0 - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert abs(mean - 1.0) < 4 * math.sqrt(p / ((1 - p) * n))
    assert nonzero.numel() == 1 and abs(nonzero.item() - 1 / (1 - p)) < 1e-6


def test_functional_dropout_ignores_eval_unless_told():
    assert not eval_is_deterministic(BadDropoutNet)
    assert eval_is_deterministic(GoodDropoutNet)
    assert eval_is_deterministic(ModuleDropoutNet)
    # 默认值本身：F.dropout 的 training 默认 True，而 F.batch_norm 的 training 默认 False
    x = torch.ones(1000)
    torch.manual_seed(0)
    assert (F.dropout(x, 0.5) == 0).any()
    assert torch.equal(F.dropout(x, 0.5, training=False), x)


# ------------------------------------------------------------ BatchNorm
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_bn_running_stats_match_recursion(momentum):
    batches = make_batches()
    rm, rv, t = bn_running_stats(batches, momentum)
    tm, tv, tt = bn_torch_running_stats(batches, momentum)
    assert t == tt == len(batches)
    assert torch.allclose(rm, tm, atol=1e-12) and torch.allclose(rv, tv, atol=1e-12)


def test_bn_closed_form_of_ema():
    # 常数批 μ_B ≡ c 时，EMA 的闭式解：running_mean_t = (1 - (1-m)^t) c（初值 0）
    C, m, k = 3, 0.1, 6
    c = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    batches = [c + torch.tensor([[1.0], [-1.0]], dtype=torch.float64) * torch.ones(C) for _ in range(k)]
    rm, rv, _ = bn_running_stats(batches, m)
    assert torch.allclose(rm, (1 - (1 - m) ** k) * c, atol=1e-12)
    # 每批的无偏方差都是 2（两点 ±1，除以 n-1=1），初值 1：running_var_t = 2 - (1-m)^t
    assert torch.allclose(rv, torch.full((C,), 2 - (1 - m) ** k, dtype=torch.float64), atol=1e-12)
    # momentum=None 是算术平均
    rm_cma, _, _ = bn_running_stats(make_batches(), None)
    mean_of_means = torch.stack([b.double().mean(0) for b in make_batches()]).mean(0)
    assert torch.allclose(rm_cma, mean_of_means, atol=1e-12)


def test_bn_uses_batch_stats_in_train_and_running_stats_in_eval():
    dep = bn_batch_dependence()
    assert dep["train"] > 0.1                 # 训练模式：输出依赖同批的其他样本
    assert dep["eval"] == 0.0                 # eval：逐样本的仿射变换


def test_bn_training_output_is_normalized_with_biased_variance():
    torch.manual_seed(0)
    x = 3 + 2 * torch.randn(64, 4, dtype=torch.float64)
    bn = nn.BatchNorm1d(4, affine=False).double().train()
    y = bn(x)
    ref = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + bn.eps)
    assert torch.allclose(y, ref, atol=1e-12)
    # 而 running_var 里累积的是无偏方差
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * x.var(0, unbiased=True), atol=1e-12)


# ------------------------------------------------------------ Sequential 与 hook
def test_forward_hooks_capture_and_modify():
    seen, y, y_ref, h1 = sequential_with_hooks()
    assert torch.equal(seen["layer0"], h1.detach())
    assert torch.equal(seen["layer1"], F.relu(h1).detach())     # 先注册的 hook 看到原始输出
    assert torch.allclose(y, y_ref, atol=1e-6)                  # 后注册的 hook 把输出减半后传下去
    assert torch.equal(seen["layer2"], y.detach())


# ------------------------------------------------------------ 权重绑定
def test_tied_weights_gradient_is_sum_of_both_uses():
    assert sum(p.numel() for p in TiedAutoencoder().parameters()) == 2 * 6 + 2 + 6   # W 只算一次
    # 拆成两个独立副本分别求梯度，加起来应等于绑定时的梯度；两条路径的贡献都不可忽略
    diff, g_enc, g_dec = tied_weights_grad_check()
    assert diff <= 1e-12
    assert g_enc > 1e-3 and g_dec > 1e-3


# ------------------------------------------------------------ functional_call
def test_functional_call_does_not_touch_module_and_matches_swap():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    before = {k: v.clone() for k, v in lin.state_dict().items()}
    new = {"weight": torch.randn(2, 3), "bias": torch.randn(2)}
    x = torch.randn(4, 3)
    y = functional_call(lin, new, (x,))
    assert torch.allclose(y, F.linear(x, new["weight"], new["bias"]), atol=1e-6)
    for k, v in lin.state_dict().items():
        assert torch.equal(v, before[k])


def test_maml_second_order_gradient_matches_finite_difference():
    analytic, numeric, dloss_fo, dgrad_fo = maml_gradient_check(h=1e-6)
    for a, fd in zip(analytic, numeric):
        # 中心差分截断误差 O(h^2)、舍入误差 O(eps/h) ~ 1e-10，容差 1e-7 留足余量
        assert abs(a - fd) < 1e-7 * max(1.0, abs(fd))
    # 一阶近似（内层梯度不建图）给出的梯度明显不同：二阶项并非可以忽略
    assert dloss_fo < 1e-12                                           # 前向值相同
    assert dgrad_fo > 1e-2
