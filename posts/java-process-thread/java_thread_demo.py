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


def main():
    with tempfile.TemporaryDirectory() as build:
        out, pid = compile_and_run(build)
    print(out, end="")
    info = parse_output(out)
    print(f"-- 子进程 pid={pid}，Java 报告的 pid={info['process']['pid']}")
    print(f"-- JMX 看到 {len(info['threads'])} 个线程；操作系统看到 "
          f"{info.get('os_threads', {}).get('count', '?')} 个")


if __name__ == "__main__":
    sys.exit(main())
