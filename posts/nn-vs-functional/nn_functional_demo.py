"""nn.Xxx 与 nn.functional.xxx：同一份计算，两种组织方式（PyTorch，CPU，几毫秒级的小张量）。

内容：
1. 等价性：nn.Conv2d / nn.Linear / nn.ReLU / nn.CrossEntropyLoss / eval 模式的 nn.BatchNorm2d
   与对应的 F.xxx 在同一组权重下输出一致；
2. 状态：Parameter、buffer 与"普通张量属性"在 parameters()/state_dict()/.to() 中的不同命运；
3. train/eval：倒置 dropout 的 1/(1-p) 缩放、F.dropout 默认 training=True 的陷阱、
   BatchNorm 滑动统计量的递推（手写版本与 PyTorch 对照）；
4. 组合与钩子：nn.Sequential + forward hook；
5. 函数式的用武之地：权重绑定（tied weights）与 torch.func.functional_call 做 MAML 式内循环。
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call


# ---------------------------------------------------------------- 1. 等价性
def max_abs_diff(a, b):
    return (a - b).abs().max().item()


def equivalence_report(seed=0):
    """对每一对 (模块, 函数) 用同一组权重计算，返回最大绝对误差。"""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)                       # 模块的默认初始化用全局随机数
    out = {}

    x = torch.randn(2, 3, 8, 8, generator=g)
    conv = nn.Conv2d(3, 4, kernel_size=3, stride=2, padding=1)
    out["conv2d"] = max_abs_diff(conv(x), F.conv2d(x, conv.weight, conv.bias, stride=2, padding=1))

    h = torch.randn(5, 6, generator=g)
    lin = nn.Linear(6, 3)
    out["linear"] = max_abs_diff(lin(h), F.linear(h, lin.weight, lin.bias))
    out["linear_by_hand"] = max_abs_diff(lin(h), h @ lin.weight.T + lin.bias)   # y = x W^T + b

    out["relu"] = max_abs_diff(nn.ReLU()(h), F.relu(h))

    logits = torch.randn(5, 3, generator=g)
    target = torch.tensor([0, 2, 1, 2, 0])
    ce_mod = nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target)
    ce_fun = F.cross_entropy(logits, target, label_smoothing=0.1)
    out["cross_entropy"] = max_abs_diff(ce_mod, ce_fun)
    # 不带平滑时交叉熵 = -log_softmax 在目标类上的平均
    ce_hand = -F.log_softmax(logits, dim=1).gather(1, target[:, None]).mean()
    out["cross_entropy_by_hand"] = max_abs_diff(F.cross_entropy(logits, target), ce_hand)

    bn = nn.BatchNorm2d(3)
    with torch.no_grad():                          # 让仿射参数和滑动统计量都不是平凡值
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    bn.eval()
    ref = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                       training=False, eps=bn.eps)
    out["batch_norm_eval"] = max_abs_diff(bn(x), ref)
    c = lambda v: v[None, :, None, None]           # 按通道广播
    by_hand = c(bn.weight) * (x - c(bn.running_mean)) / torch.sqrt(c(bn.running_var) + bn.eps) + c(bn.bias)
    out["batch_norm_by_hand"] = max_abs_diff(bn(x), by_hand)
    return out


# ---------------------------------------------------------------- 2. 参数、buffer 与普通属性
class Holder(nn.Module):
    """四种"挂在模块上的张量"。只有前三种会被 PyTorch 的模块机制看见。"""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))                       # 参数：可训练
        self.register_buffer("stat", torch.zeros(3))               # 持久 buffer：进 state_dict
        self.register_buffer("cache", torch.zeros(3), persistent=False)  # 非持久 buffer
        self.plain = torch.zeros(3)                                # 普通属性：模块机制看不见

    def forward(self, x):
        return self.w * x + self.stat + self.plain


def holder_report():
    m = Holder()
    report = {
        "parameters": [n for n, _ in m.named_parameters()],
        "buffers": [n for n, _ in m.named_buffers()],
        "state_dict": list(m.state_dict().keys()),
    }
    m = m.to(torch.float64)        # CPU 上用 dtype 转换演示 .to()：它与 .to(device) 走同一条路径
    report["dtypes_after_to"] = {n: getattr(m, n).dtype for n in ("w", "stat", "cache", "plain")}
    return report


# ---------------------------------------------------------------- 3a. dropout
def dropout_stats(p=0.3, n=200_000, seed=0):
    """对全 1 张量做训练模式的 dropout：返回 (置零比例, 均值, 非零值集合)。"""
    torch.manual_seed(seed)
    y = F.dropout(torch.ones(n), p=p, training=True)
    nonzero = torch.unique(y[y != 0])
    return (y == 0).double().mean().item(), y.double().mean().item(), nonzero


class BadDropoutNet(nn.Module):
    """陷阱：F.dropout 的 training 参数默认是 True，与 self.training 无关。"""

    def __init__(self, p=0.5):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.p = p

    def forward(self, x):
        return F.dropout(self.fc(x), self.p)                       # eval() 之后仍在丢弃！


class GoodDropoutNet(BadDropoutNet):
    def forward(self, x):
        return F.dropout(self.fc(x), self.p, training=self.training)


class ModuleDropoutNet(BadDropoutNet):
    def __init__(self, p=0.5):
        super().__init__(p)
        self.drop = nn.Dropout(p)                                  # 子模块跟随 model.eval()

    def forward(self, x):
        return self.drop(self.fc(x))


def eval_is_deterministic(net_cls, seed=0):
    """eval 模式下两次前向是否逐位相同、且等于去掉 dropout 的输出。"""
    torch.manual_seed(seed)
    net = net_cls().eval()
    x = torch.randn(8, 4)
    with torch.no_grad():
        a, b, clean = net(x), net(x), net.fc(x)
    return torch.equal(a, b) and torch.equal(a, clean)


# ---------------------------------------------------------------- 3b. BatchNorm 滑动统计量
def bn_running_stats(batches, momentum=0.1):
    """手写 BatchNorm 的 buffer 更新：
        mu_B = 批均值,  s2_B = 无偏批方差 (除以 n-1)
        running_mean <- (1-m) running_mean + m mu_B
        running_var  <- (1-m) running_var  + m s2_B
    momentum=None 时 m = 1/t（t 为已处理的批数），即累积平均。"""
    C = batches[0].shape[1]
    rm, rv = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    for t, xb in enumerate(batches, start=1):
        xb = xb.double()
        m = 1.0 / t if momentum is None else momentum
        rm = (1 - m) * rm + m * xb.mean(0)
        rv = (1 - m) * rv + m * xb.var(0, unbiased=True)
    return rm, rv, len(batches)


def bn_torch_running_stats(batches, momentum=0.1):
    bn = nn.BatchNorm1d(batches[0].shape[1], momentum=momentum).double().train()
    for xb in batches:
        bn(xb.double())
    return bn.running_mean, bn.running_var, int(bn.num_batches_tracked)


def make_batches(k=6, n=16, C=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    loc = torch.tensor([2.0, -1.0, 0.5])[:C]
    scale = torch.tensor([0.5, 2.0, 1.0])[:C]
    return [loc + scale * torch.randn(n, C, generator=g) for _ in range(k)]


def bn_batch_dependence(seed=0):
    """同一个样本与不同的"邻居"一起进 BN：训练模式下输出随邻居变化，eval 模式下不变。"""
    torch.manual_seed(seed)
    bn = nn.BatchNorm1d(3)
    for xb in make_batches(seed=seed):                 # 先攒一点滑动统计量
        bn(xb)
    x0 = torch.randn(1, 3)
    others1, others2 = torch.randn(7, 3), 3 + torch.randn(7, 3)
    res = {}
    for mode in ("train", "eval"):
        getattr(bn, mode)()
        with torch.no_grad():
            y1 = bn(torch.cat([x0, others1]))[0]
            y2 = bn(torch.cat([x0, others2]))[0]
        res[mode] = max_abs_diff(y1, y2)
    return res


# ---------------------------------------------------------------- 4. Sequential 与 hook
def sequential_with_hooks(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    seen = {}

    def save_output(name):
        def hook(module, args, output):
            seen[name] = output.detach().clone()
        return hook

    handles = [net[i].register_forward_hook(save_output(f"layer{i}")) for i in range(3)]
    # forward hook 也可以改写输出：返回非 None 即替换
    handles.append(net[1].register_forward_hook(lambda m, a, out: out * 0.5))
    x = torch.randn(5, 4)
    y = net(x)
    for h in handles:
        h.remove()
    # 手工按函数式重算一遍（同样把 ReLU 的输出减半）
    h1 = F.linear(x, net[0].weight, net[0].bias)
    h2 = 0.5 * F.relu(h1)
    y_ref = F.linear(h2, net[2].weight, net[2].bias)
    return seen, y, y_ref, h1


# ---------------------------------------------------------------- 5a. 权重绑定
class TiedAutoencoder(nn.Module):
    """编码器 W (k×d)，解码器直接用 W^T：函数式接口让"同一个参数用两次"变得自然。"""

    def __init__(self, d=6, k=2):
        super().__init__()
        self.W = nn.Parameter(torch.randn(k, d) * 0.3)
        self.b_enc = nn.Parameter(torch.zeros(k))
        self.b_dec = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        z = torch.tanh(F.linear(x, self.W, self.b_enc))
        return F.linear(z, self.W.T, self.b_dec)


def tied_weights_grad_check(seed=0):
    """绑定权重的梯度 = 两处用法各自梯度之和。返回 (绑定梯度与两份之和的最大差, 编码路径梯度最大元素, 解码路径梯度最大元素)。"""
    torch.manual_seed(seed)
    ae = TiedAutoencoder().double()
    x = torch.randn(10, 6, dtype=torch.float64)
    F.mse_loss(ae(x), x).backward()
    W1 = ae.W.detach().clone().requires_grad_()               # 拆成两个独立副本
    W2 = ae.W.detach().clone().requires_grad_()
    z = torch.tanh(F.linear(x, W1, ae.b_enc.detach()))
    F.mse_loss(F.linear(z, W2.T, ae.b_dec.detach()), x).backward()
    return (max_abs_diff(ae.W.grad, W1.grad + W2.grad), W1.grad.abs().max().item(),
            W2.grad.abs().max().item())


# ---------------------------------------------------------------- 5b. functional_call 与 MAML 式内循环
def maml_inner_step(model, x, y, lr=0.1, first_order=False):
    """用 functional_call 把"更新后的权重" θ' = θ - lr ∇L(θ) 代入同一个模块，
    而不改动模块里存的参数；create_graph=True 使外层损失能对 θ 求二阶导。
    first_order=True 时把内层梯度当常数（一阶近似，FOMAML）。"""
    params = dict(model.named_parameters())
    inner_loss = F.mse_loss(functional_call(model, params, (x,)), y)
    grads = torch.autograd.grad(inner_loss, list(params.values()), create_graph=not first_order)
    fast = {n: p - lr * g for (n, p), g in zip(params.items(), grads)}
    return fast


def maml_outer_loss(model, x_s, y_s, x_q, y_q, lr=0.1, first_order=False):
    fast = maml_inner_step(model, x_s, y_s, lr, first_order)
    return F.mse_loss(functional_call(model, fast, (x_q,)), y_q)


def maml_gradient_check(seed=0, h=1e-6, entries=((0, 0), (2, 1), (3, 0))):
    """2-4-1 的 tanh 网络上，把外层梯度（第一层权重的几个分量）与中心差分对照，并与一阶近似比较。
    返回 (解析梯度, 中心差分, 一阶近似与完整版的前向值之差, 第一层权重梯度的最大差)。"""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    xs, xq = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    ys, yq = xs.sum(1, keepdim=True).sin(), xq.sum(1, keepdim=True).sin()
    loss = maml_outer_loss(model, xs, ys, xq, yq)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    w = model[0].weight
    analytic, numeric = [], []
    for idx in entries:
        with torch.no_grad():
            w[idx] += h
        lp = maml_outer_loss(model, xs, ys, xq, yq).item()
        with torch.no_grad():
            w[idx] -= 2 * h
        lm = maml_outer_loss(model, xs, ys, xq, yq).item()
        with torch.no_grad():
            w[idx] += h
        analytic.append(grads[0][idx].item())
        numeric.append((lp - lm) / (2 * h))
    loss_fo = maml_outer_loss(model, xs, ys, xq, yq, first_order=True)   # 内层梯度不建图
    grads_fo = torch.autograd.grad(loss_fo, list(model.parameters()))
    return analytic, numeric, abs(loss_fo.item() - loss.item()), max_abs_diff(grads_fo[0], grads[0])


def rounding(value: float, bound: float) -> str:
    """一个舍入量级的误差只印它低于的上界：具体数字（乃至是否恰为 0）随 CPU 的向量指令
    （AVX2、AVX-512）而变，上界不变。"""
    assert value < bound, (value, bound)
    return f"< {bound:.0e}"


if __name__ == "__main__":
    torch.set_printoptions(precision=4)
    print("等价性（最大绝对误差）:")
    for k, v in equivalence_report().items():
        print(f"  {k:24s} {rounding(v, 1e-6) if k == 'batch_norm_by_hand' else format(v, '.2e')}")
    print("Holder:", holder_report())
    frac0, mean, nz = dropout_stats()
    print(f"dropout p=0.3: 置零比例={frac0:.5f} 均值={mean:.5f} 非零值={nz.tolist()}")
    for cls in (BadDropoutNet, GoodDropoutNet, ModuleDropoutNet):
        print(f"  {cls.__name__:18s} eval 下确定且等于无 dropout 输出: {eval_is_deterministic(cls)}")
    batches = make_batches()
    for mom in (0.1, 0.5, None):
        rm, rv, t = bn_running_stats(batches, mom)
        tm, tv, tt = bn_torch_running_stats(batches, mom)
        print(f"BN momentum={mom}: 手写 mean={rm.numpy().round(4)} var={rv.numpy().round(4)} "
              f"| 误差 {max_abs_diff(rm, tm):.1e} {rounding(max_abs_diff(rv, tv), 1e-15)} | 批数 {t} {tt}")
    print("BN 对同批其他样本的依赖:", bn_batch_dependence())
    seen, y, y_ref, _ = sequential_with_hooks()
    print("hook 捕获:", {k: tuple(v.shape) for k, v in seen.items()}, "重算误差", max_abs_diff(y, y_ref))
    d, g1, g2 = tied_weights_grad_check()
    print(f"权重绑定：绑定梯度与两份副本梯度之和的最大差 {d:.1e}；编码、解码两条路径的梯度最大元素 {g1:.3f}、{g2:.3f}")
    analytic, numeric, dloss, dgrad = maml_gradient_check()
    errs = ", ".join(rounding(abs(a - b), 1e-9) for a, b in zip(analytic, numeric))
    print(f"MAML：外层梯度与中心差分之差 [{errs}]；一阶近似的前向值之差 {dloss:.1e}，第一层权重梯度最大差 {dgrad:.3f}")
