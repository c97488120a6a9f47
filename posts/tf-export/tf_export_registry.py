"""仿照 TensorFlow 的 @tf_export 写的一个最小注册表（纯 Python 标准库）。

两部分：
1. 导出阶段：装饰器 api_export 只在被导出的对象上记下公开名字（_tf_api_names / _tf_api_names_v1），
   常量记在所在模块的 _tf_api_constants 列表里；tf_export = functools.partial(api_export, api_name=...)。
2. 生成阶段：导入库的全部模块，遍历模块属性，收集这些记录，按 "a.b.c" 拆成 (目标模块 a.b, 名字 c)，
   检查同名冲突，给每个目标模块生成 __init__.py 的源码并写到磁盘，得到一棵可以 import 的公开 API 包。

这是教学用的重写，不是 TensorFlow 源码；名字和行为尽量与 tensorflow/python/util/tf_export.py
及 tensorflow/python/tools/api/generator/create_python_api.py 的做法对应，细节见正文。
"""
import collections
import functools
import keyword
import os
import sys
import tempfile
import textwrap
from typing import NamedTuple

TENSORFLOW_API_NAME = "tensorflow"
KERAS_API_NAME = "keras"
SUBPACKAGE_NAMESPACES = ("estimator",)       # tf_export 不允许占用的顶层名字（留给独立发布的组件）


class _Attributes(NamedTuple):
    names: str
    constants: str


API_ATTRS = {
    TENSORFLOW_API_NAME: _Attributes("_tf_api_names", "_tf_api_constants"),
    KERAS_API_NAME: _Attributes("_keras_api_names", "_keras_api_constants"),
}
API_ATTRS_V1 = {
    TENSORFLOW_API_NAME: _Attributes("_tf_api_names_v1", "_tf_api_constants_v1"),
    KERAS_API_NAME: _Attributes("_keras_api_names_v1", "_keras_api_constants_v1"),
}
DEPRECATED_NAMES_ATTR = "_tf_deprecated_api_names"


class SymbolAlreadyExposedError(Exception):
    """同一个对象被导出了两次。"""


class InvalidSymbolNameError(Exception):
    """名字不合法，或者占用了不属于自己的命名空间。"""


class SymbolExposedTwiceError(Exception):
    """生成阶段：两个不同的对象被导出到了同一个公开名字。"""


_NAME_TO_SYMBOL = {}                           # "math.add" / "compat.v1.math.add" -> 对象


def unwrap(obj):
    """沿 __wrapped__ 链（functools.wraps 会设置它）找到最里层、未被包装的对象。"""
    seen = set()
    while hasattr(obj, "__wrapped__") and id(obj) not in seen:
        seen.add(id(obj))
        obj = obj.__wrapped__
    return obj


def _check_dotted(name):
    parts = name.split(".")
    if not name or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise InvalidSymbolNameError(f"不是合法的点分名字：{name!r}")


class api_export:  # noqa: N801  （与 TensorFlow 保持同样的小写类名）
    """@api_export("math.add", "add", v1=[...], api_name="tensorflow")。第一个名字视为规范名。"""

    def __init__(self, *names, api_name=TENSORFLOW_API_NAME, v1=None, allow_multiple_exports=False):
        self._names = tuple(names)
        self._names_v1 = tuple(v1) if v1 is not None else self._names   # 不给 v1 时沿用 v2 的名字
        self._api_name = api_name
        self._allow_multiple = allow_multiple_exports
        self._validate()

    def _validate(self):
        everything = set(self._names) | set(self._names_v1)
        for n in everything:
            _check_dotted(n)
        if self._api_name == TENSORFLOW_API_NAME:
            for sub in SUBPACKAGE_NAMESPACES:
                if any(n == sub or n.startswith(sub + ".") for n in everything):
                    raise InvalidSymbolNameError(f"@tf_export 不能导出到 {sub}.* 之下")
        elif not all(n.startswith(self._api_name + ".") for n in everything):
            raise InvalidSymbolNameError(f"{self._api_name} 组件只能导出到 {self._api_name}.* 之下")

    def __call__(self, symbol):
        target = unwrap(symbol)                 # 名字记在最里层的对象上，外层包装不影响查找
        self._set(target, API_ATTRS[self._api_name].names, self._names)
        self._set(target, API_ATTRS_V1[self._api_name].names, self._names_v1)
        for n in self._names:
            _NAME_TO_SYMBOL[n] = symbol
        for n in self._names_v1:
            _NAME_TO_SYMBOL["compat.v1." + n] = symbol
        return symbol                           # 原样返回：不包装，调用时零开销

    def _set(self, target, attr, names):
        # 用 vars() 而不是 hasattr：子类会"继承"父类的类属性，但它自己并没有被导出
        if attr in vars(target) and not self._allow_multiple:
            raise SymbolAlreadyExposedError(
                f"{getattr(target, '__name__', target)!s} 已经以 {getattr(target, attr)} 导出过")
        setattr(target, attr, names)

    def export_constant(self, module_name, name):
        """常量（int、str ……）上挂不了属性，于是把 (公开名字, 变量名) 记在所在模块里。"""
        module = sys.modules[module_name]
        for attrs, names in ((API_ATTRS, self._names), (API_ATTRS_V1, self._names_v1)):
            key = attrs[self._api_name].constants
            if key not in vars(module):
                setattr(module, key, [])
            getattr(module, key).append((names, name))


tf_export = functools.partial(api_export, api_name=TENSORFLOW_API_NAME)
keras_export = functools.partial(api_export, api_name=KERAS_API_NAME)


def deprecated_endpoints(*names):
    """标记某些公开名字已弃用（规范名会跳过它们）。"""
    def deco(func):
        setattr(unwrap(func), DEPRECATED_NAMES_ATTR, tuple(names))
        return func
    return deco


def get_symbol_from_name(name):
    return _NAME_TO_SYMBOL.get(name)


def get_v2_names(symbol, api_name=TENSORFLOW_API_NAME):
    target = unwrap(symbol)
    return list(vars(target).get(API_ATTRS[api_name].names, ())) if hasattr(target, "__dict__") else []


def get_v1_names(symbol, api_name=TENSORFLOW_API_NAME):
    target = unwrap(symbol)
    return list(vars(target).get(API_ATTRS_V1[api_name].names, ())) if hasattr(target, "__dict__") else []


def get_canonical_name_for_symbol(symbol, api_name=TENSORFLOW_API_NAME, add_prefix_to_v1_names=False):
    """第一个未弃用的 v2 名字；没有 v2 名字时退而取 v1 名字（可选加 compat.v1. 前缀）。"""
    target = unwrap(symbol)
    deprecated = set(vars(target).get(DEPRECATED_NAMES_ATTR, ())) if hasattr(target, "__dict__") else set()
    for names, prefix in ((get_v2_names(target, api_name), ""),
                          (get_v1_names(target, api_name), "compat.v1." if add_prefix_to_v1_names else "")):
        if names:
            name = next((n for n in names if n not in deprecated), names[0])
            return prefix + name
    return None


# ====================================================================== 生成阶段
class ApiTree:
    """目标模块 -> {公开名字 -> {(源模块, 源名字, 优先级)}}，并记录每个完整名字绑定的对象 id。"""

    def __init__(self):
        self.imports = collections.defaultdict(lambda: collections.defaultdict(set))
        self._bound = {}

    def add(self, symbol, source_module, source_name, dest_module, dest_name):
        full = f"{dest_module}.{dest_name}" if dest_module else dest_name
        sid = id(symbol)
        if full in self._bound and self._bound[full] != sid:
            raise SymbolExposedTwiceError(f"两个不同的对象都想导出为 {full}")
        self._bound[full] = sid
        priority = int(getattr(symbol, "__module__", None) == source_module) \
            + int(getattr(symbol, "__name__", None) == source_name)
        self.imports[dest_module][dest_name].add((source_module, source_name, priority))

    def modules(self):
        """所有目标模块，连同它们的各级父模块（根模块记作 ""）。"""
        out = {""}
        for m in self.imports:
            parts = m.split(".") if m else []
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return out


def _split(full_name, prefix=""):
    module, _, name = full_name.rpartition(".")
    if prefix:
        module = f"{prefix}.{module}" if module else prefix
    return module, name


def collect(packages, api_name=TENSORFLOW_API_NAME, version=2, compat_versions=()):
    """遍历 sys.modules 中属于 packages 的模块，收集导出记录，返回 ApiTree。
    version 决定根命名空间用 v2 还是 v1 名字；compat_versions 里的版本额外放到 compat.vN 之下。"""
    tree = ApiTree()
    layouts = [(version, "")] + [(v, f"compat.v{v}") for v in compat_versions]
    for module in sorted(list(sys.modules.values()), key=lambda m: getattr(m, "__name__", "")):
        mname = getattr(module, "__name__", None)
        if not mname or not any(mname == p or mname.startswith(p + ".") for p in packages):
            continue
        for attr_name in sorted(vars(module)):
            value = vars(module)[attr_name]
            for v, prefix in layouts:
                attrs = (API_ATTRS_V1 if v == 1 else API_ATTRS)[api_name]
                if attr_name == attrs.constants:            # 模块里登记的常量
                    for names, const_name in value:
                        for n in names:
                            tree.add(vars(module)[const_name], mname, const_name, *_split(n, prefix))
                    continue
                target = unwrap(value)
                if hasattr(target, "__dict__") and attrs.names in vars(target):
                    for n in vars(target)[attrs.names]:
                        tree.add(value, mname, attr_name, *_split(n, prefix))
    return tree


def render(tree, output_package):
    """每个目标模块一段 __init__.py 源码：子模块用相对导入，符号从优先级最高的来源导入。"""
    children = collections.defaultdict(set)
    for m in tree.modules():
        if m:
            parent, _, child = m.rpartition(".")
            children[parent].add(child)
    texts = {}
    for m in sorted(tree.modules()):
        lines = [f'"""公开 API：{output_package + ("." + m if m else "")}（机器生成，勿手改）。"""']
        lines += [f"from . import {c}" for c in sorted(children[m])]
        for name, cands in sorted(tree.imports.get(m, {}).items()):
            src_mod, src_name, _ = sorted(cands, key=lambda c: (-c[2], c[0], c[1]))[0]
            alias = "" if src_name == name else f" as {name}"
            lines.append(f"from {src_mod} import {src_name}{alias}")
        texts[m] = "\n".join(lines) + "\n"
    return texts


def write_package(root_dir, output_package, texts):
    for m, text in texts.items():
        d = os.path.join(root_dir, output_package, *([p for p in m.split(".")] if m else []))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "__init__.py"), "w", encoding="utf-8") as f:
            f.write(text)


# ====================================================================== 演示用的"库"
TOYLIB_SOURCES = {
    "__init__.py": '"""一个玩具库：实现代码按文件组织，公开名字由 tf_export 决定。"""\n',
    "ops.py": textwrap.dedent('''\
        import functools
        from tf_export_registry import tf_export, deprecated_endpoints


        @deprecated_endpoints("add")
        @tf_export("math.add", "add")
        def add(x, y):
            return x + y


        @tf_export("math.multiply", "multiply", v1=["math.multiply", "multiply", "mul"])
        def multiply(x, y):
            return x * y


        @tf_export(v1=["old_sum"])
        def old_sum(xs):
            return sum(xs)


        def _logged(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)
            return wrapper


        @tf_export("math.square")
        @_logged
        def square(x):
            return x * x


        @tf_export("Shape")
        class Shape:
            def __init__(self, *dims):
                self.dims = dims


        class _PrivateShape(Shape):
            pass


        PI = 3.141592653589793
        tf_export("math.pi").export_constant(__name__, "PI")
        '''),
    "reexport.py": "from {pkg}.ops import add, Shape  # 同一对象的第二个可达位置\n",
}


def write_toylib(root_dir, pkg):
    d = os.path.join(root_dir, pkg)
    os.makedirs(d, exist_ok=True)
    for fname, src in TOYLIB_SOURCES.items():
        with open(os.path.join(d, fname), "w", encoding="utf-8") as f:
            f.write(src.replace("{pkg}", pkg))


def main():
    import importlib
    with tempfile.TemporaryDirectory() as tmp:
        write_toylib(tmp, "toylib")
        sys.path.insert(0, tmp)
        importlib.import_module("toylib.ops")
        importlib.import_module("toylib.reexport")
        ops = sys.modules["toylib.ops"]
        print("add._tf_api_names      =", ops.add._tf_api_names)
        print("multiply._tf_api_names_v1 =", ops.multiply._tf_api_names_v1)
        print("old_sum 的 v2 / v1 名字 =", get_v2_names(ops.old_sum), get_v1_names(ops.old_sum))
        print("square 是包装函数；名字在包装函数 / 被包装函数自己的 __dict__ 里：",
              "_tf_api_names" in vars(ops.square), "/", "_tf_api_names" in vars(ops.square.__wrapped__))
        print("模块常量记录 _tf_api_constants =", ops._tf_api_constants)
        print("规范名：add ->", get_canonical_name_for_symbol(ops.add),
              "；old_sum ->", get_canonical_name_for_symbol(ops.old_sum, add_prefix_to_v1_names=True))
        print("tf_export 是", type(tf_export).__name__, "，冻结的参数：", tf_export.keywords)

        tree = collect(["toylib"], version=2, compat_versions=(1,))
        texts = render(tree, "toyapi")
        write_package(tmp, "toyapi", texts)
        for m in sorted(texts):
            print(f"---- toyapi/{m.replace('.', '/') + '/' if m else ''}__init__.py")
            print(texts[m], end="")
        api = importlib.import_module("toyapi")
        print("toyapi.math.add(2, 3) =", api.math.add(2, 3), "；toyapi.add is toyapi.math.add:",
              api.add is api.math.add)
        print("toyapi.compat.v1.mul(4, 5) =", api.compat.v1.mul(4, 5),
              "；v2 里有 mul 吗：", hasattr(api, "mul"))

        try:
            tf_export("math.add")(ops.add)
        except SymbolAlreadyExposedError as e:
            print("再次导出同一函数 ->", type(e).__name__, ":", e)
        try:
            tf_export("estimator.Estimator")(lambda: None)
        except InvalidSymbolNameError as e:
            print("占用保留命名空间 ->", type(e).__name__, ":", e)
        sys.path.remove(tmp)


if __name__ == "__main__":
    main()
