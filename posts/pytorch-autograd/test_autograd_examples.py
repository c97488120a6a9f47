"""autograd_examples 的测试：autograd 的结果与手推公式、雅可比矩阵、有限差分一致，各种机制的行为符合文中描述。"""
import torch

from autograd_examples import (accumulation_demo, build_small_graph, graph_nodes, hooks_demo,
                               inplace_version_demo, layer_grads_autograd_vs_hand, leaf_demo,
                               no_grad_detach_inference_demo, smooth_abs_check, vjp_demo)


def test_graph_structure_and_gradients():
    x, w, b, z = build_small_graph()
    assert graph_nodes(z) == ["SumBackward0", "TanhBackward0", "AddBackward0", "MulBackward0",
                              "AccumulateGrad", "AccumulateGrad"]
    assert x.grad_fn is None and w.grad_fn is None and z.grad_fn is not None
    z.backward()
    s = 1 - torch.tanh(w.detach() * x + b.detach()) ** 2        # 手推：dz/dw_i = (1 - tanh^2) x_i
    torch.testing.assert_close(w.grad, s * x, rtol=0, atol=1e-15)
    torch.testing.assert_close(b.grad, s.sum(), rtol=0, atol=1e-15)


def test_single_layer_matches_hand_derivation():
    for seed in range(5):
        auto, hand = layer_grads_autograd_vs_hand(seed)
        for k in ("W", "b", "x"):
            torch.testing.assert_close(auto[k], hand[k], rtol=0, atol=1e-14)


def test_gradients_accumulate_until_cleared():
    first, second, third, error = accumulation_demo()
    assert (first, second, third) == (6.0, 12.0, 27.0)
    assert "backward through the graph a second time" in error


def test_vector_jacobian_product():
    vjp, v, J, J_hand, error = vjp_demo()
    assert J.shape == (3, 4)
    torch.testing.assert_close(J, J_hand, rtol=0, atol=1e-14)
    torch.testing.assert_close(vjp, v @ J, rtol=0, atol=1e-14)
    # 再用中心差分独立核对雅可比矩阵的每一列
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 4, generator=g, dtype=torch.float64)
    x = torch.randn(4, generator=g, dtype=torch.float64)
    f = lambda u: A @ (u * torch.sin(u))                          # noqa: E731
    h = 1e-6
    fd = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in torch.eye(4, dtype=torch.float64)], 1)
    torch.testing.assert_close(J, fd, rtol=0, atol=1e-8)
    assert "only for scalar outputs" in error


def test_leaf_and_retain_grad():
    r = leaf_demo()
    assert r["a_leaf"] and r["c_leaf"] and not r["h_leaf"]
    assert r["a_grad"] == 60.0 and r["h_grad"] is None and r["h2_grad"] == 6.0   # d(15a^2)/d(5a) = 3a = 6


def test_no_grad_detach_and_inference_mode():
    r = no_grad_detach_inference_demo()
    assert r["no_grad_requires"] is False and r["no_grad_fn"] is None
    assert r["detach_requires"] is False and r["shares_storage"]
    assert r["w_after"].tolist() == [10.0, 2.0]                  # 通过 detach 的别名改到了原张量
    assert r["inference"] and "Inference tensors cannot be saved for backward" in r["inf_error"]


def test_inplace_modification_of_saved_tensor_is_detected():
    v0, v1, error = inplace_version_demo()
    assert (v0, v1) == (0, 1)
    assert "modified by an inplace operation" in error


def test_hooks_see_and_replace_gradients_in_order():
    events, grad = hooks_demo()
    assert [e[0] for e in events] == ["h", "w.grad"]              # 先经过 h，再写入 w.grad
    assert events[0][1].tolist() == [1.0, 1.0]
    assert grad.tolist() == [30.0, 30.0] == events[1][1].tolist()  # 3 * (1 * 10)


def test_custom_function_passes_gradcheck():
    ok, name = smooth_abs_check()
    assert ok and name == "SmoothAbsBackward"
