"""tf_export_registry 的测试：装饰器记录的属性、partial、错误处理，以及生成出的 API 包能否真正 import。"""
import functools
import importlib
import itertools
import sys
import types

import pytest

from tf_export_registry import (API_ATTRS, InvalidSymbolNameError, SymbolAlreadyExposedError,
                                SymbolExposedTwiceError, api_export, collect, deprecated_endpoints,
                                get_canonical_name_for_symbol, get_symbol_from_name, get_v1_names,
                                get_v2_names, keras_export, render, tf_export, write_package,
                                write_toylib)

_counter = itertools.count()


@pytest.fixture
def toylib(tmp_path):
    """把玩具库写到临时目录，用唯一的包名导入；测试结束后清理 sys.modules 与 sys.path。"""
    pkg = f"toylib_{next(_counter)}"
    write_toylib(str(tmp_path), pkg)
    sys.path.insert(0, str(tmp_path))
    importlib.import_module(f"{pkg}.ops")
    importlib.import_module(f"{pkg}.reexport")
    yield types.SimpleNamespace(pkg=pkg, root=tmp_path, ops=sys.modules[f"{pkg}.ops"])
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] in (pkg, pkg + "_api", pkg + "_api_v1")]:
        del sys.modules[name]


# ------------------------------------------------------------ 装饰器本身
def test_decorator_records_names_and_returns_the_same_object():
    def f():
        return 42

    g = tf_export("a.f", "f")(f)
    assert g is f and g() == 42                                    # 不包装、不改变行为
    assert f._tf_api_names == ("a.f", "f")
    assert f._tf_api_names_v1 == ("a.f", "f")                      # 没给 v1 时沿用 v2 名字
    assert get_symbol_from_name("a.f") is f and get_symbol_from_name("compat.v1.f") is f


def test_v1_only_and_different_v1_names(toylib):
    ops = toylib.ops
    assert get_v2_names(ops.old_sum) == [] and get_v1_names(ops.old_sum) == ["old_sum"]
    assert get_v1_names(ops.multiply) == ["math.multiply", "multiply", "mul"]
    assert get_v2_names(ops.multiply) == ["math.multiply", "multiply"]


def test_partial_freezes_the_api_name():
    assert isinstance(tf_export, functools.partial)
    assert tf_export.func is api_export and tf_export.keywords == {"api_name": "tensorflow"}

    def h():
        pass

    keras_export("keras.layers.h")(h)
    assert h._keras_api_names == ("keras.layers.h",)
    assert API_ATTRS["tensorflow"].names not in vars(h)           # 两套 API 的属性互不干扰
    with pytest.raises(InvalidSymbolNameError):
        keras_export("layers.h")                                   # keras 组件必须在 keras.* 之下
    with pytest.raises(InvalidSymbolNameError):
        tf_export("layers.h", api_name="keras")                    # partial 冻结的关键字可以被覆盖


@pytest.mark.parametrize("bad", ["", "a..b", "1abc", "math.lambda", "estimator.Foo"])
def test_invalid_names_are_rejected(bad):
    with pytest.raises(InvalidSymbolNameError):
        tf_export(bad)


def test_exporting_twice_raises_unless_allowed():
    def f():
        pass

    tf_export("f1")(f)
    with pytest.raises(SymbolAlreadyExposedError):
        tf_export("f2")(f)
    tf_export("f3", allow_multiple_exports=True)(f)
    assert f._tf_api_names == ("f3",)                              # 允许时后一次覆盖前一次


def test_subclass_does_not_inherit_the_export(toylib):
    ops = toylib.ops
    sub = ops._PrivateShape
    assert hasattr(sub, "_tf_api_names")                           # 类属性会被继承……
    assert get_v2_names(sub) == []                                 # ……但按 vars() 判断，它没有导出
    tf_export("PrivateShape")(sub)                                 # 所以单独导出子类不会报"已导出"
    assert get_v2_names(sub) == ["PrivateShape"] and get_v2_names(ops.Shape) == ["Shape"]


def test_names_live_on_the_innermost_function(toylib):
    sq = toylib.ops.square
    assert "_tf_api_names" not in vars(sq) and sq.__wrapped__._tf_api_names == ("math.square",)
    assert get_v2_names(sq) == ["math.square"]                     # 查询时同样先 unwrap


def test_constants_and_canonical_names(toylib):
    ops = toylib.ops
    assert ops._tf_api_constants == [(("math.pi",), "PI")]
    assert ops._tf_api_constants_v1 == [(("math.pi",), "PI")]
    assert get_canonical_name_for_symbol(ops.add) == "math.add"
    assert get_canonical_name_for_symbol(ops.old_sum) == "old_sum"
    assert get_canonical_name_for_symbol(ops.old_sum, add_prefix_to_v1_names=True) == "compat.v1.old_sum"

    @deprecated_endpoints("math.x", "x")
    @tf_export("math.x", "x")
    def x():
        pass

    assert get_canonical_name_for_symbol(x) == "math.x"            # 全部弃用时退回第一个名字

    @deprecated_endpoints("old_y")
    @tf_export("old_y", "math.y")
    def y():
        pass

    assert get_canonical_name_for_symbol(y) == "math.y"            # 第一个名字已弃用时跳过它


# ------------------------------------------------------------ 生成阶段
def test_generated_v2_package_is_importable_and_correct(toylib):
    pkg, ops = toylib.pkg, toylib.ops
    tree = collect([pkg], version=2, compat_versions=(1,))
    assert tree.modules() == {"", "math", "compat", "compat.v1", "compat.v1.math"}
    texts = render(tree, pkg + "_api")
    assert f"from {pkg}.ops import add\n" in texts["math"]         # 规范来源是定义它的模块
    assert f"{pkg}.reexport" not in "".join(texts.values())        # 重新导出的位置优先级更低
    write_package(str(toylib.root), pkg + "_api", texts)
    api = importlib.import_module(pkg + "_api")
    assert api.math.add is ops.add and api.add is ops.add
    assert api.math.multiply(3, 4) == 12 and api.math.pi == ops.PI
    assert api.math.square is ops.square                            # 导出的是模块里的（包装后的）对象
    assert isinstance(api.Shape(2, 3), ops.Shape)
    assert not hasattr(api, "old_sum") and not hasattr(api, "mul")  # 只在 v1 里的名字
    assert api.compat.v1.old_sum([1, 2, 3]) == 6 and api.compat.v1.mul is ops.multiply
    assert not hasattr(api, "_PrivateShape") and not hasattr(api.compat.v1, "_PrivateShape")


def test_v1_build_uses_v1_names_at_the_root(toylib):
    pkg = toylib.pkg
    texts = render(collect([pkg], version=1), pkg + "_api_v1")
    write_package(str(toylib.root), pkg + "_api_v1", texts)
    api = importlib.import_module(pkg + "_api_v1")
    assert api.old_sum is toylib.ops.old_sum and api.mul is toylib.ops.multiply
    assert not hasattr(api, "compat")


def test_two_symbols_with_the_same_public_name_are_detected(toylib):
    pkg = toylib.pkg
    clash = types.ModuleType(f"{pkg}.clash")

    def add(x, y):                                                 # 另一个同样想叫 math.add 的函数
        return x - y

    add.__module__ = clash.__name__
    clash.add = tf_export("math.add")(add)
    sys.modules[clash.__name__] = clash
    with pytest.raises(SymbolExposedTwiceError):
        collect([pkg])
    del sys.modules[clash.__name__]
    collect([pkg])                                                  # 移除冲突后恢复正常
