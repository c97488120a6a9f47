"""scalar_autodiff 的测试：与 PyTorch（float64）和中心差分对照。"""
import math

import pytest
import torch

from scalar_autodiff import Value, example_expression, topological_order

EXPRESSIONS = {
    "product_and_sin": lambda x, y: x * y + x.sin(),
    "diamond": lambda x, y: ((x * y) * (x * y + x)).tanh() + ((x * y + x) / y).exp(),
    "reverse_ops_pow_log": lambda x, y: (2 - x) / (3 + y ** 2) + (x * x + 1).log() - 4 / x,
    "reuse_same_node": lambda x, y: x * x * x + x - y * y,
    "relu_neuron": lambda x, y: (0.5 * x - 1.5 * y + 0.1).relu() + (x + y).relu(),
    "article_example": example_expression,          # 正文的例子，也是图中画出的那张图
}
POINTS = [(0.7, -1.3), (1.9, 0.4), (-0.8, 2.2)]


def value_grads(f, x0, y0):
    x, y = Value(x0), Value(y0)
    out = f(x, y)
    out.backward()
    return out.data, x.grad, y.grad


def torch_grads(f, x0, y0):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(y0, dtype=torch.float64, requires_grad=True)
    out = f(x, y)
    out.backward()
    return out.item(), x.grad.item(), y.grad.item()


@pytest.mark.parametrize("name", EXPRESSIONS)
@pytest.mark.parametrize("point", POINTS)
def test_matches_torch(name, point):
    ours, ref = value_grads(EXPRESSIONS[name], *point), torch_grads(EXPRESSIONS[name], *point)
    for a, b in zip(ours, ref):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_matches_central_differences(name):
    f, h = EXPRESSIONS[name], 1e-6
    plain = lambda x, y: f(Value(x), Value(y)).data          # noqa: E731
    for x0, y0 in POINTS:
        _, gx, gy = value_grads(f, x0, y0)
        fx = (plain(x0 + h, y0) - plain(x0 - h, y0)) / (2 * h)
        fy = (plain(x0, y0 + h) - plain(x0, y0 - h)) / (2 * h)
        # 中心差分的截断误差 O(h^2)、舍入误差 O(eps/h)，两者都远小于 1e-6
        assert gx == pytest.approx(fx, abs=1e-6) and gy == pytest.approx(fy, abs=1e-6)


def test_reused_node_sums_over_paths():
    x = Value(1.5)
    (x * x * x + x).backward()
    assert x.grad == pytest.approx(3 * 1.5 ** 2 + 1, rel=1e-15)


def test_backward_twice_accumulates_like_torch():
    x = Value(2.0)
    y = x * x
    y.backward()
    y.backward()
    xt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    yt = xt * xt
    yt.backward(retain_graph=True)
    yt.backward()
    assert x.grad == xt.grad.item() == 8.0


def test_topological_order_puts_parents_first():
    x, y = Value(0.3), Value(0.9)
    out = EXPRESSIONS["diamond"](x, y)
    order = topological_order(out)
    pos = {id(n): i for i, n in enumerate(order)}
    assert len(pos) == len(order) and order[-1] is out
    for n in order:
        for p, _ in n.parents:
            assert pos[id(p)] < pos[id(n)]


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Value(1.0)
    s = x
    for _ in range(5000):
        s = s * 1.0001
    s.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-12)
    assert math.isfinite(s.data)
