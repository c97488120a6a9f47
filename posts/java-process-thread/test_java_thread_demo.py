"""用 javac 把 ThreadListing.java 编译到临时目录，运行后检查线程列表、线程状态序列与堆/栈实验。"""
import sys

import pytest

from java_thread_demo import compile_and_run, find_jdk, parse_output



def test_jdk_is_installed():
    # 不跳过：没有 JDK 时这篇文章的代码就没有被验证，测试应当失败（scripts/install-system-deps.sh 会装 JDK）。
    assert find_jdk() is not None, "javac not found: install a JDK (default-jdk-headless)"

ALL_STATES = {"NEW", "RUNNABLE", "BLOCKED", "WAITING", "TIMED_WAITING", "TERMINATED"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out, pid = compile_and_run(tmp_path_factory.mktemp("java-build"))
    return parse_output(out), pid


def test_one_jvm_is_one_os_process(run):
    info, pid = run
    assert info["process"]["pid"] == pid                 # Java 看到的 pid 就是我们启动的子进程
    assert info["process"]["cpus"] >= 1
    assert info["main"] == {"name": "main", "id": 1}


def test_listing_contains_main_and_jvm_system_threads(run):
    info, _ = run
    threads = {t["name"]: t for t in info["threads"]}
    assert threads["main"]["state"] == "RUNNABLE" and not threads["main"]["daemon"]
    for name in ("Reference Handler", "Finalizer", "Signal Dispatcher"):
        assert name in threads and threads[name]["daemon"]
    assert threads["demo-waiter"]["state"] == "WAITING"
    assert threads["demo-sleeper"]["state"] == "TIMED_WAITING"
    ids = [t["id"] for t in info["threads"]]
    assert len(set(ids)) == len(ids) == info["summary"]["count"]
    # 除 main 与两个演示线程外，JVM 自己至少还有 3 个 Java 线程，而且它们都是守护线程
    system = [t for t in info["threads"] if t["name"] not in ("main", "demo-waiter", "demo-sleeper")]
    assert len(system) >= 3 and all(t["daemon"] for t in system)
    assert info["summary"]["daemon"] == len(system)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/task 只在 Linux 上有")
def test_os_sees_more_threads_than_jmx(run):
    info, _ = run
    # GC 线程、VM Thread、JIT 编译线程等不会出现在 dumpAllThreads 的结果里
    assert info["os_threads"]["count"] > info["summary"]["count"]


def test_thread_state_lifecycle(run):
    info, _ = run
    waiter = [s for n, s in info["states"] if n == "demo-waiter"]
    sleeper = [s for n, s in info["states"] if n == "demo-sleeper"]
    assert waiter == ["NEW", "RUNNABLE", "WAITING", "BLOCKED", "TERMINATED"]
    assert sleeper == ["TIMED_WAITING", "TERMINATED"]
    assert set(waiter) | set(sleeper) == ALL_STATES        # Thread.State 的六个取值全部出现过


def test_heap_is_shared_stack_is_private(run):
    info, _ = run
    assert info["heap"] == {"shared": 200_000, "local0": 100_000, "local1": 100_000}
    # 每个线程有自己的栈：8 MB 栈能递归的深度远大于 256 KB 栈
    assert info["stack"]["large"] > 2 * info["stack"]["small"] > 0
