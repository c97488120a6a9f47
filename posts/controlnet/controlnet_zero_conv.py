"""ControlNet 的零卷积机制：一个可以手算梯度的 NumPy 玩具。

张量形状一律是 (B, C, H, W)。“块” F 是逐像素的两层 MLP 加残差（即 1×1 卷积），
ControlNet 的输出为  y = F(x; 锁定参数) + scale * Z2( F(x + Z1(E(c)); 可训练副本) )，
其中 Z1、Z2 是权重和偏置都初始化为 0 的 1×1 卷积，E 是把条件图下采样到特征分辨率的小编码器。
"""
import numpy as np


def conv1x1(W, b, x):
    """1×1 卷积：对每个像素做 W @ x + b。W: (C_out, C_in)，x: (B, C_in, H, W)。"""
    return np.einsum("oc,bchw->bohw", W, x) + b[None, :, None, None]


def avg_pool(c, f):
    B, C, H, W = c.shape
    return c.reshape(B, C, H // f, f, W // f, f).mean(axis=(3, 5))


def block_forward(p, x):
    """F(x) = x + A2 relu(A1 x + a1) + a2，返回输出和反向传播需要的中间量。"""
    pre = conv1x1(p["A1"], p["a1"], x)
    act = np.maximum(pre, 0.0)
    return x + conv1x1(p["A2"], p["a2"], act), (x, pre, act)


def block_backward(p, cache, dout):
    """给定 dL/dF(x)，返回 (dL/dx, 参数梯度)。"""
    x, pre, act = cache
    g = {"A2": np.einsum("bohw,bchw->oc", dout, act), "a2": dout.sum(axis=(0, 2, 3))}
    dpre = np.einsum("oc,bohw->bchw", p["A2"], dout) * (pre > 0)
    g["A1"] = np.einsum("bohw,bchw->oc", dpre, x)
    g["a1"] = dpre.sum(axis=(0, 2, 3))
    dx = dout + np.einsum("oc,bohw->bchw", p["A1"], dpre)
    return dx, g


def init_base(C, Ch, rng):
    """一个“预训练好”的块：随机但固定的参数，代表被锁定的原模型。"""
    return {"A1": rng.standard_normal((Ch, C)) / np.sqrt(C), "a1": 0.1 * rng.standard_normal(Ch),
            "A2": rng.standard_normal((C, Ch)) / np.sqrt(Ch), "a2": 0.1 * rng.standard_normal(C)}


def init_controlnet(base, C_cond, rng, zero=True, init_std=None):
    """可训练副本从锁定参数复制；条件编码器随机初始化；两个零卷积初始化为 0。
    zero=False 时改用标准差 init_std 的高斯初始化 Z1、Z2，作为对照。"""
    C = base["A2"].shape[0]
    ctrl = {"copy": {k: v.copy() for k, v in base.items()},
            "P": rng.standard_normal((C, C_cond)) / np.sqrt(C_cond), "p": np.zeros(C)}
    for name in ("Z1", "Z2"):
        if zero:
            ctrl[name + "W"], ctrl[name + "b"] = np.zeros((C, C)), np.zeros(C)
        else:
            s = init_std if init_std is not None else 1.0 / np.sqrt(C)
            ctrl[name + "W"], ctrl[name + "b"] = s * rng.standard_normal((C, C)), np.zeros(C)
    return ctrl


def controlnet_forward(base, ctrl, x, c, f, scale=1.0):
    """返回 (y, base_out, cache)。"""
    base_out, _ = block_forward(base, x)
    pooled = avg_pool(c, f)
    e_pre = conv1x1(ctrl["P"], ctrl["p"], pooled)
    e = np.maximum(e_pre, 0.0)                                   # 条件编码器 E(c)
    u = x + conv1x1(ctrl["Z1W"], ctrl["Z1b"], e)                 # x + Z1(E(c))
    h, bcache = block_forward(ctrl["copy"], u)                   # 可训练副本
    r = conv1x1(ctrl["Z2W"], ctrl["Z2b"], h)                     # Z2(...)
    return base_out + scale * r, base_out, (pooled, e_pre, e, u, h, bcache, scale)


def controlnet_backward(ctrl, cache, dy):
    """dy = dL/dy，返回所有可训练参数的梯度（结构与 ctrl 相同）。锁定参数没有梯度。"""
    pooled, e_pre, e, u, h, bcache, scale = cache
    dr = scale * dy
    g = {"Z2W": np.einsum("bohw,bchw->oc", dr, h), "Z2b": dr.sum(axis=(0, 2, 3))}
    dh = np.einsum("oc,bohw->bchw", ctrl["Z2W"], dr)             # = W2^T dr，初始时为 0
    du, g["copy"] = block_backward(ctrl["copy"], bcache, dh)
    g["Z1W"] = np.einsum("bohw,bchw->oc", du, e)
    g["Z1b"] = du.sum(axis=(0, 2, 3))
    de_pre = np.einsum("oc,bohw->bchw", ctrl["Z1W"], du) * (e_pre > 0)
    g["P"] = np.einsum("bohw,bchw->oc", de_pre, pooled)
    g["p"] = de_pre.sum(axis=(0, 2, 3))
    return g


def loss_and_grads(base, ctrl, x, c, target, f, scale=1.0):
    y, _, cache = controlnet_forward(base, ctrl, x, c, f, scale)
    diff = y - target
    return 0.5 * float((diff ** 2).sum()), controlnet_backward(ctrl, cache, diff), y


def flat_items(tree, prefix=""):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from flat_items(v, prefix + k + ".")
        else:
            yield prefix + k, v


def sgd_step(ctrl, grads, lr):
    g = dict(flat_items(grads))
    for name, v in flat_items(ctrl):
        v -= lr * g[name]                                        # 原地更新


def grad_norms(grads):
    return {name: float(np.linalg.norm(v)) for name, v in flat_items(grads)}


def multi_controlnet(base, ctrls, conds, f, scales):
    """多个 ControlNet 同时使用：残差按各自的强度相加。"""
    base_out, _ = block_forward(base, conds[0][0])
    y = base_out.copy()
    for ctrl, (x, c), s in zip(ctrls, conds, scales):
        y += controlnet_forward(base, ctrl, x, c, f, s)[0] - base_out
    return y


# ---------------------------------------------------------------- 一个可学的玩具任务
def make_task(rng, B=16, C=8, Ch=16, C_cond=3, f=4, side=8):
    """特征 x 与条件图 c（分辨率是特征的 f 倍）；目标 = F(x) + M·pool(c) 的非线性变换，
    即“按条件图在对应位置改写特征”。"""
    base = init_base(C, Ch, rng)
    x = rng.standard_normal((B, C, side, side))
    c = (rng.random((B, C_cond, side * f, side * f)) < 0.2).astype(float)   # 稀疏的“边缘图”
    M = rng.standard_normal((C, C_cond))
    target = block_forward(base, x)[0] + np.tanh(conv1x1(M, np.zeros(C), avg_pool(c, f)) * 3.0)
    return base, x, c, target


def adam_train(base, ctrl, x, c, target, f, steps=300, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
    m = {k: np.zeros_like(v) for k, v in flat_items(ctrl)}
    s = {k: np.zeros_like(v) for k, v in flat_items(ctrl)}
    losses = []
    for it in range(1, steps + 1):
        L, grads, _ = loss_and_grads(base, ctrl, x, c, target, f)
        losses.append(L)
        g = dict(flat_items(grads))
        for k, v in flat_items(ctrl):
            gv = g[k]
            m[k] = b1 * m[k] + (1 - b1) * gv
            s[k] = b2 * s[k] + (1 - b2) * gv ** 2
            v -= lr * (m[k] / (1 - b1 ** it)) / (np.sqrt(s[k] / (1 - b2 ** it)) + eps)
    return np.array(losses)


def main():
    rng = np.random.default_rng(0)
    f = 4
    base, x, c, target = make_task(rng)
    ctrl = init_controlnet(base, c.shape[1], rng)
    y, base_out, _ = controlnet_forward(base, ctrl, x, c, f)
    print("初始化时 y 与 F(x) 逐位相同:", np.array_equal(y, base_out))
    for step in range(1, 4):
        L, g, _ = loss_and_grads(base, ctrl, x, c, target, f)
        n = grad_norms(g)
        print(f"第 {step} 步  loss={L:9.3f}  |dZ2W|={n['Z2W']:.3e}  |d copy.A1|={n['copy.A1']:.3e}  "
              f"|dZ1W|={n['Z1W']:.3e}  |dP|={n['P']:.3e}")
        sgd_step(ctrl, g, lr=1e-4)
    ctrl = init_controlnet(base, c.shape[1], np.random.default_rng(1))
    losses = adam_train(base, ctrl, x, c, target, f)
    print(f"Adam 300 步: loss {losses[0]:.2f} -> {losses[-1]:.2f}（降到 {losses[-1] / losses[0]:.3%}）")
    rnd = init_controlnet(base, c.shape[1], np.random.default_rng(1), zero=False)
    y_rnd = controlnet_forward(base, rnd, x, c, f)[0]
    rel = np.linalg.norm(y_rnd - base_out) / np.linalg.norm(base_out)
    print(f"若 Z1、Z2 用高斯初始化：初始输出偏离原模型的相对幅度 {rel:.3f}")


if __name__ == "__main__":
    main()
