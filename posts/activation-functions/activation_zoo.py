"""激活函数及其导数的 NumPy 实现，外加几个小实验（纯 NumPy + 标准库 math）。

每个激活 f 都配一个解析导数 d_f，测试文件用中心差分逐一核对。
实验：感知机收敛界、深层网络里的梯度衰减、死亡 ReLU、GELU 的 tanh 近似常数、
SwiGLU 前馈层的参数量与手写反向传播。
"""
from math import erf, pi, sqrt

import numpy as np

_erf = np.vectorize(erf, otypes=[float])


# ---------------------------------------------------------------- 阈值单元与感知机
def heaviside(x):
    """McCulloch–Pitts / 感知机的阶跃激活：x >= 0 输出 1，否则 0。"""
    return (np.asarray(x) >= 0).astype(float)


def perceptron_train(X, y, max_epochs=1000):
    """Rosenblatt 感知机学习规则。X: (n, d)，y ∈ {-1, +1}。
    偏置并入权重（X 末尾补一列 1）。返回 (w, 犯错次数, 是否收敛)。"""
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    mistakes = 0
    for _ in range(max_epochs):
        clean = True
        for xi, yi in zip(Xb, y):
            if yi * (w @ xi) <= 0:          # 分错（或恰在边界上）就更新
                w += yi * xi
                mistakes += 1
                clean = False
        if clean:
            return w, mistakes, True
    return w, mistakes, False


# ---------------------------------------------------------------- S 型函数
def sigmoid(x):
    x = np.asarray(x, float)
    out = np.empty_like(x)
    pos = x >= 0                             # 分两支计算，避免 exp 溢出
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def d_sigmoid(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    return np.tanh(x)


def d_tanh(x):
    return 1.0 - np.tanh(x) ** 2


# ---------------------------------------------------------------- 整流族
def relu(x):
    return np.maximum(x, 0.0)


def d_relu(x):
    return (np.asarray(x) > 0).astype(float)   # x = 0 处取次梯度 0（与主流框架一致）


def leaky_relu(x, a=0.01):
    x = np.asarray(x, float)
    return np.where(x > 0, x, a * x)


def d_leaky_relu(x, a=0.01):
    return np.where(np.asarray(x) > 0, 1.0, a)


def prelu_grad_a(x):
    """PReLU f(x) = max(0,x) + a·min(0,x) 对斜率参数 a 的偏导。"""
    return np.minimum(np.asarray(x, float), 0.0)


def elu(x, alpha=1.0):
    x = np.asarray(x, float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def d_elu(x, alpha=1.0):
    x = np.asarray(x, float)
    return np.where(x > 0, 1.0, elu(x, alpha) + alpha)   # x<=0 时 f' = f + alpha


# ---------------------------------------------------------------- GELU 与 Swish
def std_normal_cdf(x):
    return 0.5 * (1.0 + _erf(np.asarray(x, float) / sqrt(2.0)))


def std_normal_pdf(x):
    x = np.asarray(x, float)
    return np.exp(-0.5 * x * x) / sqrt(2.0 * pi)


def gelu(x):
    """精确 GELU：x·Φ(x)。"""
    return np.asarray(x, float) * std_normal_cdf(x)


def d_gelu(x):
    return std_normal_cdf(x) + np.asarray(x, float) * std_normal_pdf(x)


GELU_TANH_A = 0.044715                      # Hendrycks & Gimpel 给出的常数
GELU_TAYLOR_A = 2.0 / (3.0 * pi) - 1.0 / 6.0  # 三阶泰勒匹配得到的常数 ≈ 0.045540


def gelu_tanh(x, a=GELU_TANH_A):
    """tanh 近似：0.5·x·(1 + tanh(√(2/π)(x + a x³)))。"""
    x = np.asarray(x, float)
    return 0.5 * x * (1.0 + np.tanh(sqrt(2.0 / pi) * (x + a * x ** 3)))


def d_gelu_tanh(x, a=GELU_TANH_A):
    x = np.asarray(x, float)
    c = sqrt(2.0 / pi)
    t = np.tanh(c * (x + a * x ** 3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * c * (1.0 + 3.0 * a * x ** 2)


def gelu_sigmoid(x):
    """更粗的近似：x·σ(1.702x)。"""
    return np.asarray(x, float) * sigmoid(1.702 * np.asarray(x, float))


def swish(x, beta=1.0):
    """Swish_β(x) = x·σ(βx)；β = 1 即 SiLU。"""
    x = np.asarray(x, float)
    return x * sigmoid(beta * x)


def d_swish(x, beta=1.0):
    x = np.asarray(x, float)
    s = sigmoid(beta * x)
    return s + beta * x * s * (1.0 - s)


def d_swish_beta(x, beta=1.0):
    """Swish 对可学习参数 β 的偏导：x²·σ(βx)(1-σ(βx))。"""
    x = np.asarray(x, float)
    s = sigmoid(beta * x)
    return x * x * s * (1.0 - s)


def minimax_gelu_constant(xs=np.linspace(-6, 6, 12_001)):
    """搜索常数 a，使 ½(1+tanh(√(2/π)(x+ax³))) 与 Φ(x) 的最大绝对误差最小。
    先在 [0.040, 0.050] 上以 1e-4 为步长粗搜，再在最优点 ±1e-4 内以 1e-6 为步长细搜。"""
    phi = std_normal_cdf(xs)
    c = sqrt(2.0 / pi)

    def max_err(grid):
        return np.array([np.max(np.abs(0.5 * (1 + np.tanh(c * (xs + a * xs ** 3))) - phi)) for a in grid])

    coarse = np.linspace(0.040, 0.050, 101)
    a0 = coarse[np.argmin(max_err(coarse))]
    fine = np.linspace(a0 - 1e-4, a0 + 1e-4, 201)
    errs = max_err(fine)
    i = int(np.argmin(errs))
    return fine[i], errs[i]


ACTIVATIONS = {                              # 名字 -> (f, f')，供测试和实验统一遍历
    "sigmoid": (sigmoid, d_sigmoid),
    "tanh": (tanh, d_tanh),
    "relu": (relu, d_relu),
    "leaky_relu": (leaky_relu, d_leaky_relu),
    "elu": (elu, d_elu),
    "gelu": (gelu, d_gelu),
    "gelu_tanh": (gelu_tanh, d_gelu_tanh),
    "swish": (swish, d_swish),
}


# ---------------------------------------------------------------- 深度与梯度
def gradient_norm_through_depth(act, depth=30, width=256, batch=64, init="xavier", seed=0):
    """随机初始化的全连接网络 h_l = f(W_l h_{l-1})，从顶层回传一个随机梯度，
    返回每一层 ‖∂L/∂h_l‖（对批次取均方根），下标 0 是输入层。"""
    f, df = ACTIVATIONS[act]
    rng = np.random.default_rng(seed)
    var = {"xavier": 1.0 / width, "he": 2.0 / width}[init]
    Ws = [rng.normal(0.0, sqrt(var), (width, width)) for _ in range(depth)]
    h = rng.standard_normal((batch, width))
    zs = []
    for W in Ws:                              # 前向
        z = h @ W.T
        zs.append(z)
        h = f(z)
    g = rng.standard_normal((batch, width))   # ∂L/∂h_L
    norms = [np.sqrt(np.mean(np.sum(g ** 2, axis=1)))]
    for W, z in zip(reversed(Ws), reversed(zs)):   # 反向：∂L/∂h_{l-1} = W^T (f'(z) ⊙ ∂L/∂h_l)
        g = (g * df(z)) @ W
        norms.append(np.sqrt(np.mean(np.sum(g ** 2, axis=1))))
    return np.array(norms[::-1])


def dead_relu_fraction(bias_shift, n_in=64, n_units=512, n_samples=2000, seed=0):
    """He 初始化的一层 ReLU，把所有偏置减去 bias_shift（模拟一次过大的负向更新）。
    返回 (实测比例, 理论预测)：实测比例是在全部 n_samples 个输入上输出恒为 0、因而梯度恒为 0 的单元比例；
    输入 x ~ N(0, I) 时 z = w·x - shift ~ N(-shift, ‖w‖²) 且各样本独立，
    故单元死亡的条件概率为 Φ(shift/‖w‖)^n_samples，对单元取平均即理论预测。"""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, sqrt(2.0 / n_in), (n_units, n_in))
    X = rng.standard_normal((n_samples, n_in))
    Z = X @ W.T - bias_shift
    empirical = float(np.mean(np.all(Z <= 0, axis=0)))
    norms = np.linalg.norm(W, axis=1)
    predicted = float(np.mean(std_normal_cdf(bias_shift / norms) ** n_samples))
    return empirical, predicted


# ---------------------------------------------------------------- 前馈层：ReLU FFN 与 SwiGLU
def ffn_param_count(d, d_ff, kind):
    """不含偏置的参数量：标准 FFN 两个矩阵，GLU 类三个矩阵。"""
    return {"relu": 2 * d * d_ff, "swiglu": 3 * d * d_ff}[kind]


def swiglu_hidden(d, multiple_of=1):
    """与 d_ff = 4d 的标准 FFN 参数量相同的 SwiGLU 隐藏维度 ⌊2·4d/3⌋，再向上取整到 multiple_of 的倍数
    （LLaMA 的做法；multiple_of = 1 时不取整）。"""
    h = int(2 * (4 * d) / 3)
    return multiple_of * ((h + multiple_of - 1) // multiple_of)


def ffn_swiglu(x, W, V, W2):
    """FFN_SwiGLU(x) = (Swish_1(xW) ⊙ xV) W2，x: (n, d)，W,V: (d, h)，W2: (h, d)。"""
    a, b = x @ W, x @ V
    return (swish(a) * b) @ W2


def ffn_swiglu_backward(x, W, V, W2, grad_out):
    """手写反向传播，返回 (dx, dW, dV, dW2)。"""
    a, b = x @ W, x @ V
    s = swish(a)
    u = s * b
    dW2 = u.T @ grad_out
    du = grad_out @ W2.T
    da = du * b * d_swish(a)
    db = du * s
    dW = x.T @ da
    dV = x.T @ db
    dx = da @ W.T + db @ V.T
    return dx, dW, dV, dW2


if __name__ == "__main__":
    np.set_printoptions(precision=4, suppress=True)
    print("== 导数上界 ==")
    xs = np.linspace(-8, 8, 160_001)
    print(f"max σ'(x) = {d_sigmoid(xs).max():.6f}  (理论 1/4)；max tanh'(x) = {d_tanh(xs).max():.6f}")

    print("\n== 非单调激活的最小值 ==")
    for name, f in [("GELU", gelu), ("SiLU", swish)]:
        v = f(xs)
        i = int(np.argmin(v))
        print(f"{name}: 最小值 {v[i]:.4f}，位于 x = {xs[i]:.4f}")

    print("\n== GELU 的 tanh 近似 ==")
    grid = np.linspace(-10, 10, 200_001)
    for a, name in [(GELU_TANH_A, "论文常数 0.044715"), (GELU_TAYLOR_A, f"泰勒常数 {GELU_TAYLOR_A:.6f}")]:
        e = np.abs(gelu_tanh(grid, a) - gelu(grid))
        print(f"{name}: max|GELU - 近似| = {e.max():.3e}（x = {grid[e.argmax()]:.3f}）")
    print(f"x·σ(1.702x): max 误差 = {np.abs(gelu_sigmoid(grid) - gelu(grid)).max():.3e}")
    a_star, err = minimax_gelu_constant()
    print(f"对 Φ 做极小化最大误差的常数 a* = {a_star:.6f}，此时 max|Φ - 近似| = {err:.3e}")

    print("\n== 30 层网络中 ‖∂L/∂h_0‖ / ‖∂L/∂h_30‖ ==")
    for act, init in [("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "he")]:
        n = gradient_norm_through_depth(act, init=init)
        r = n[0] / n[-1]
        print(f"{act:8s} ({init:6s}): 比值 = {r:.3e}，每层几何平均因子 = {r ** (1 / 30):.4f}")

    print("\n== 死亡 ReLU：偏置整体下移后恒为 0 的单元比例 ==")
    for shift in [0.0, 2.0, 3.0, 4.0, 5.0, 6.0]:
        emp, pred = dead_relu_fraction(shift)
        print(f"shift = {shift}: 实测 {emp:.3f}，理论 {pred:.3f}")

    print("\n== SwiGLU 的参数量 ==")
    for d in [768, 4096]:
        h = swiglu_hidden(d, multiple_of=256 if d == 4096 else 1)
        print(f"d = {d}: ReLU FFN(4d) = {ffn_param_count(d, 4 * d, 'relu'):,}，"
              f"SwiGLU(d_h = {h}) = {ffn_param_count(d, h, 'swiglu'):,}")
