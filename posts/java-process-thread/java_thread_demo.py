"""编译并运行 ThreadListing.java，把它的输出解析成 Python 数据结构。

用法：python java_thread_demo.py（需要 JDK 17 或更新版本的 javac 与 java）。
编译产物放在临时目录里，不会写进文章目录。
"""
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
JAVA_FILE = HERE / "ThreadListing.java"


def find_jdk():
    """返回同一个 JDK 里的 (javac, java) 路径；找不到 javac 时返回 None。"""
    javac = shutil.which("javac")
    if javac is None:
        return None
    bindir = Path(javac).resolve().parent
    java = bindir / "java"
    return Path(javac), java if java.exists() else Path(shutil.which("java"))


def compile_and_run(build_dir, java_file=JAVA_FILE, timeout=120):
    """javac -d build_dir ThreadListing.java，然后 java -cp build_dir ThreadListing。
    返回 (标准输出, 子进程的 pid)。"""
    jdk = find_jdk()
    if jdk is None:
        raise FileNotFoundError("javac not found")
    javac, java = jdk
    # -J-XX:TieredStopAtLevel=1 只让 javac 自己启动得快一点，不影响编译结果
    subprocess.run([str(javac), "-J-XX:TieredStopAtLevel=1", "-encoding", "UTF-8", "-d", str(build_dir),
                    str(java_file)],
                   check=True, capture_output=True, text=True, timeout=timeout)
    proc = subprocess.Popen([str(java), "-cp", str(build_dir), java_file.stem],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"java exited with {proc.returncode}:\n{err}")
    return out, proc.pid


LINE_KV = re.compile(r"(\w+)=(\S+)")


def parse_output(text):
    """把输出各行解析成字典：threads 是 THREAD 行的列表，states 是 STATE 行的 (线程名, 状态) 列表，
    summary、process、main、os_threads、heap、stack 是对应行的键值对。"""
    res = {"threads": [], "states": []}
    for line in text.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "THREAD":
            head, _, name = rest.partition(" name=")          # 线程名里可能有空格，放在最后
            kv = dict(LINE_KV.findall(head))
            res["threads"].append({"id": int(kv["id"]), "daemon": kv["daemon"] == "true",
                                   "state": kv["state"], "name": name})
        elif tag == "STATE":
            name, state = rest.rsplit(" ", 1)
            res["states"].append((name, state))
        elif tag in ("PROCESS", "MAIN", "THREADS", "OS_THREADS", "HEAP", "STACK"):
            key = "summary" if tag == "THREADS" else tag.lower()    # THREADS 行是 JMX 的计数汇总
            res[key] = {k: (int(v) if v.isdigit() else v) for k, v in LINE_KV.findall(rest)}
    return res


def report(info, pid):
    """把一次运行整理成几行结论。pid 与递归深度每次运行都不同，只报告它们满足的关系，重复运行的输出相同。"""
    lines = [
        f"Java 报告的 pid 等于 Python 启动的子进程的 pid：{info['process']['pid'] == pid}",
        f"主线程：name={info['main']['name']} id={info['main']['id']}",
    ]
    for name in ("demo-waiter", "demo-sleeper"):
        seq = [s for n, s in info["states"] if n == name]
        lines.append(f"{name} 依次处于：{' -> '.join(seq)}")
    summary = info["summary"]
    lines.append(f"两个演示线程都在等待时，dumpAllThreads 列出 {summary['count']} 个线程，"
                 f"其中守护线程 {summary['daemon']} 个：")
    for t in sorted(info["threads"], key=lambda t: t["id"]):
        daemon = "true" if t["daemon"] else "false"
        lines.append(f"  id={t['id']:<3d} daemon={daemon:<5s} state={t['state']:<13s} name={t['name']}")
    if "os_threads" in info:
        more = info["os_threads"]["count"] > summary["count"]
        lines.append(f"/proc/self/task 里的线程多于 JMX 列出的线程：{more}")
    heap, stack = info["heap"], info["stack"]
    lines.append(f"堆：共享计数 {heap['shared']}，两个线程各自的局部计数 {heap['local0']} / {heap['local1']}")
    lines.append(f"栈：两个线程都以 StackOverflowError 结束递归，程序照常运行；"
                 f"8 MB 栈的最大递归深度超过 256 KB 栈的 2 倍：{stack['large'] > 2 * stack['small'] > 0}")
    return "\n".join(lines)


def main():
    with tempfile.TemporaryDirectory() as build:
        out, pid = compile_and_run(build)
    print(report(parse_output(out), pid))


if __name__ == "__main__":
    sys.exit(main())
