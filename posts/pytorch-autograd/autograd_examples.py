"""PyTorch autograd 的几个小实验：计算图、手推梯度、梯度累积、向量-雅可比积、叶子与非叶子、
no_grad / detach / inference_mode、原地修改的版本检查、钩子，以及自定义 Function。
全部在 CPU 上用 float64 运行，每个函数返回可以被测试断言的数值。"""
import warnings

import torch

DT = torch.float64


def graph_nodes(t):
    """从 t.grad_fn 出发沿 next_functions 做深度优先遍历，返回按访问顺序排列的节点类名（去重）。"""
    order, seen, stack = [], set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        order.append(type(node).__name__)
        # next_functions 是 (节点, 输出编号) 二元组；反向压栈以保持从左到右的访问顺序
        stack.extend(fn for fn, _ in reversed(node.next_functions))
    return order


def build_small_graph():
    """z = sum(tanh(w * x + b))：w、b 需要梯度，x 不需要。"""
    x = torch.tensor([1.0, -2.0, 0.5], dtype=DT)
    w = torch.tensor([0.3, 0.1, -0.4], dtype=DT, requires_grad=True)
    b = torch.tensor(0.2, dtype=DT, requires_grad=True)
    z = torch.tanh(w * x + b).sum()
    return x, w, b, z


def layer_grads_autograd_vs_hand(seed=0):
    """单层网络 y = tanh(W x + b)，损失 L = 0.5 * ||y - t||^2。返回 autograd 与手推梯度。"""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(3, 4, generator=g, dtype=DT, requires_grad=True)
    b = torch.randn(3, generator=g, dtype=DT, requires_grad=True)
    x = torch.randn(4, generator=g, dtype=DT, requires_grad=True)
    t = torch.randn(3, generator=g, dtype=DT)
    y = torch.tanh(W @ x + b)
    loss = 0.5 * ((y - t) ** 2).sum()
    loss.backward()
    with torch.no_grad():                         # 手推：delta = dL/da = (y - t) * (1 - y^2)
        delta = (y - t) * (1 - y ** 2)
        hand = {"W": torch.outer(delta, x), "b": delta, "x": W.T @ delta}
    auto = {"W": W.grad, "b": b.grad, "x": x.grad}
    return auto, hand


def accumulation_demo():
    """同一个图反向两次（retain_graph=True）时，叶子的 .grad 会累加。"""
    w = torch.tensor(3.0, dtype=DT, requires_grad=True)
    y = w ** 2                                    # dy/dw = 2w = 6
    y.backward(retain_graph=True)
    first = w.grad.item()
    y.backward()                                  # 第二次：6 + 6
    second = w.grad.item()
    w.grad = None                                 # 清零（optimizer.zero_grad 的默认做法）
    (w ** 3).backward()                           # 3w^2 = 27
    third = w.grad.item()
    try:
        z = w * 2
        z.backward()
        z.backward()                              # 图已释放：报错
        error = None
    except RuntimeError as err:
        error = str(err)
    return first, second, third, error


def vjp_demo(seed=0):
    """f(x) = A @ (x * sin(x))，R^4 -> R^3。返回 y.backward(v) 得到的 v^T J、完整雅可比矩阵，
    以及手推的雅可比 J = A diag(sin x + x cos x)。"""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(3, 4, generator=g, dtype=DT)
    x = torch.randn(4, generator=g, dtype=DT, requires_grad=True)
    v = torch.randn(3, generator=g, dtype=DT)
    y = A @ (x * torch.sin(x))
    y.backward(v)                                 # 非标量输出必须提供"上游梯度" v
    vjp = x.grad.clone()
    J = torch.autograd.functional.jacobian(lambda u: A @ (u * torch.sin(u)), x.detach())
    with torch.no_grad():
        J_hand = A * (torch.sin(x) + x * torch.cos(x))
    try:
        (A @ (x * torch.sin(x))).backward()       # 不提供 v：报错
        error = None
    except RuntimeError as err:
        error = str(err)
    return vjp, v, J, J_hand, error


def leaf_demo():
    """叶子与非叶子：非叶子默认不保存 .grad，retain_grad() 之后才保存。"""
    a = torch.tensor(2.0, dtype=DT, requires_grad=True)   # 用户创建的叶子
    h = a * 3                                             # 非叶子（有 grad_fn）
    h2 = a * 5
    h2.retain_grad()
    (h * h2).backward()                                   # d/da (15 a^2) = 30 a = 60
    c = torch.tensor(1.0, dtype=DT)                       # 不需要梯度的张量也是叶子
    with warnings.catch_warnings():                       # 访问非叶子的 .grad 会发出 UserWarning
        warnings.simplefilter("ignore")
        h_grad = h.grad                                   # None
    return dict(a_leaf=a.is_leaf, h_leaf=h.is_leaf, c_leaf=c.is_leaf, a_grad=a.grad.item(),
                h_grad=h_grad, h2_grad=h2.grad.item())


def no_grad_detach_inference_demo():
    w = torch.tensor([1.0, 2.0], dtype=DT, requires_grad=True)
    with torch.no_grad():
        y_ng = w * 2                                      # 不建图
    d = w.detach()                                        # 共享存储、不需要梯度
    d[0] = 10.0                                           # 修改会反映到 w 上
    with torch.inference_mode():
        y_inf = w * 2
    try:
        (y_inf * w).sum().backward()                      # 推理张量不能参与需要保存的运算
        inf_error = None
    except RuntimeError as err:
        inf_error = str(err)
    return dict(no_grad_requires=y_ng.requires_grad, no_grad_fn=y_ng.grad_fn, detach_requires=d.requires_grad,
                w_after=w.detach().clone(), shares_storage=d.data_ptr() == w.data_ptr(),
                inference=y_inf.is_inference(), inf_error=inf_error)


def inplace_version_demo():
    """sigmoid 的反向需要它的输出；原地修改这个输出会让版本号对不上，反向时报错。"""
    x = torch.tensor([0.5, -1.0], dtype=DT, requires_grad=True)
    y = torch.sigmoid(x)
    v0 = y._version
    y.mul_(2)                                              # 原地修改：版本号 +1
    try:
        y.sum().backward()
        error = None
    except RuntimeError as err:
        error = str(err)
    return v0, y._version, error


def hooks_demo():
    """张量钩子可以读取或替换流过的梯度；叶子的 post-accumulate 钩子在 .grad 写入后触发（DDP 也在参数梯度累加的这一刻触发通信）。"""
    events = []
    w = torch.tensor([1.0, 2.0], dtype=DT, requires_grad=True)
    h = w * 3

    def scale_grad(g):                                    # 张量钩子：返回值会替换流过 h 的梯度
        events.append(("h", g.clone()))
        return g * 10

    def after_accumulate(p):                              # 叶子钩子：此时 p.grad 已经写好
        events.append(("w.grad", p.grad.clone()))

    h.register_hook(scale_grad)
    w.register_post_accumulate_grad_hook(after_accumulate)
    h.sum().backward()
    return events, w.grad.clone()


class SmoothAbs(torch.autograd.Function):
    """自定义算子 f(x) = sqrt(x^2 + eps)，f'(x) = x / f(x)。forward 保存反向需要的量，backward 计算 VJP。"""

    @staticmethod
    def forward(ctx, x, eps=1e-2):
        out = torch.sqrt(x * x + eps)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        return grad_out * x / out, None                   # 对 eps 不求导


def smooth_abs_check():
    x = torch.linspace(-2, 2, 9, dtype=DT, requires_grad=True)
    ok = torch.autograd.gradcheck(lambda u: SmoothAbs.apply(u), (x,), eps=1e-6, atol=1e-8)
    y = SmoothAbs.apply(x)
    return ok, type(y.grad_fn).__name__


if __name__ == "__main__":
    torch.set_printoptions(precision=4)
    x, w, b, z = build_small_graph()
    print("计算图节点：", graph_nodes(z))
    z.backward()
    print("w.grad =", w.grad, " b.grad =", b.grad)
    auto, hand = layer_grads_autograd_vs_hand()
    print("单层网络：autograd 与手推梯度最大差",
          max(torch.max(torch.abs(auto[k] - hand[k])).item() for k in auto))
    first, second, third, err = accumulation_demo()
    print(f"梯度累积：{first} → {second}；清零后 {third}；重复 backward：{err[:60]}...")
    vjp, v, J, J_hand, err = vjp_demo()
    print("v^T J 与 v @ jacobian 的最大差", torch.max(torch.abs(vjp - v @ J)).item(),
          "；jacobian 与手推的最大差", torch.max(torch.abs(J - J_hand)).item())
    print("非标量输出直接 backward：", err)
    print("叶子：", leaf_demo())
    r = no_grad_detach_inference_demo()
    r["inf_error"] = r["inf_error"][:48] + "..."
    print("no_grad / detach / inference_mode：", r)
    v0, v1, err = inplace_version_demo()
    print(f"版本号 {v0} → {v1}；反向时：{err[:110]}...")
    events, g = hooks_demo()
    print("钩子事件：", events, " 最终 w.grad =", g)
    print("自定义 Function：gradcheck =", smooth_abs_check())
