"""纯 Python 的标量反向模式自动微分：每个 Value 记录它的父节点以及对每个父节点的局部导数，
backward 先做拓扑排序，再按逆拓扑序把"上游梯度 × 局部导数"累加到父节点上。"""
import math


def topological_order(root):
    """返回以 root 为终点的计算图中所有节点的拓扑序（父节点在前）。用显式栈，避免深图的递归溢出。"""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)                    # 所有父节点都已输出，才输出自己（后序）
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent, _ in node.parents:
            if id(parent) not in visited:
                stack.append((parent, False))
    return order


def as_value(x):
    return x if isinstance(x, Value) else Value(x)


class Value:
    __slots__ = ("data", "grad", "parents", "op")

    def __init__(self, data, parents=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = tuple(parents)             # ((父节点, ∂self/∂父节点), ...)
        self.op = op

    def __repr__(self):
        return f"Value({self.data:.6g}, grad={self.grad:.6g})"

    # ---- 二元运算：局部导数在前向时就算好
    def __add__(self, other):
        other = as_value(other)
        return Value(self.data + other.data, ((self, 1.0), (other, 1.0)), "+")

    def __mul__(self, other):
        other = as_value(other)
        return Value(self.data * other.data, ((self, other.data), (other, self.data)), "*")

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "只支持常数指数"
        return Value(self.data ** k, ((self, k * self.data ** (k - 1)),), f"**{k}")

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-as_value(other))

    def __truediv__(self, other):
        return self * as_value(other) ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return as_value(other) - self

    def __rtruediv__(self, other):
        return as_value(other) / self

    # ---- 一元函数
    def exp(self):
        e = math.exp(self.data)
        return Value(e, ((self, e),), "exp")

    def log(self):
        return Value(math.log(self.data), ((self, 1.0 / self.data),), "log")

    def sin(self):
        return Value(math.sin(self.data), ((self, math.cos(self.data)),), "sin")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, ((self, 1.0 - t * t),), "tanh")

    def relu(self):
        return Value(max(self.data, 0.0), ((self, 1.0 if self.data > 0 else 0.0),), "relu")

    # ---- 反向传播
    def backward(self, seed=1.0):
        """从 self 出发做一次反向传播。梯度先在本次调用的字典里汇总，最后累加到各节点的 .grad 上，
        所以与 PyTorch 一样，重复调用会累加。"""
        order = topological_order(self)
        g = {id(n): 0.0 for n in order}
        g[id(self)] = seed
        for node in reversed(order):              # 逆拓扑序：处理一个节点时，它的所有下游都已处理完
            for parent, local in node.parents:
                g[id(parent)] += g[id(node)] * local   # 链式法则；同一父节点的多条路径在此相加
        for n in order:
            n.grad += g[id(n)]


def example_expression(x, y):
    """正文的例子 f(x1, x2)，x、y 即 x1、x2。对 Value 与 torch 张量都适用。"""
    a = x * y
    b = a + x                                     # x 经两条路径影响输出（菱形依赖）
    return (a * b).tanh() + (b / y).exp() + (2 - x) ** 2 / (1 + y * y).log()


if __name__ == "__main__":
    import torch                                  # 只在演示时用来对照

    expr = example_expression
    xv, yv = Value(0.7), Value(-1.3)
    out = expr(xv, yv)
    out.backward()
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    ot = expr(xt, yt)
    ot.backward()
    print(f"输出：Value {out.data:.12f}，torch {ot.item():.12f}")
    print(f"d/dx：Value {xv.grad:.12f}，torch {xt.grad.item():.12f}")
    print(f"d/dy：Value {yv.grad:.12f}，torch {yt.grad.item():.12f}")
    print(f"计算图节点数：{len(topological_order(out))}")
