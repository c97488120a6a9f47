import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * 进程与线程的小实验：
 * 1. 打印进程信息；
 * 2. 用 ThreadMXBean.dumpAllThreads 列出 JVM 里的全部线程（一个“单线程”程序其实有很多线程）；
 * 3. 让一个线程依次经过 NEW、RUNNABLE、WAITING、BLOCKED、TERMINATED，另一个线程处于 TIMED_WAITING；
 * 4. 堆上的对象被所有线程共享，局部变量在各自的栈上；栈大小按线程设置。
 */
public class ThreadListing {
    private static final Object MONITOR = new Object();
    private static volatile boolean go = false;        // 让 waiter 先在 RUNNABLE 状态自旋
    private static boolean released = false;          // 受 MONITOR 保护的条件

    public static void main(String[] args) throws Exception {
        ProcessHandle self = ProcessHandle.current();
        System.out.println("PROCESS pid=" + self.pid() + " cpus=" + Runtime.getRuntime().availableProcessors());
        System.out.println("MAIN name=" + Thread.currentThread().getName() + " id=" + Thread.currentThread().getId());

        Thread waiter = new Thread(ThreadListing::waitForRelease, "demo-waiter");
        Thread sleeper = new Thread(() -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // 被主线程中断，正常结束
            }
        }, "demo-sleeper");

        report(waiter);                                  // NEW：已创建、未启动
        waiter.start();
        sleeper.start();
        awaitState(waiter, Thread.State.RUNNABLE);       // 正在自旋
        go = true;
        awaitState(waiter, Thread.State.WAITING);        // 在 MONITOR.wait() 里
        awaitState(sleeper, Thread.State.TIMED_WAITING); // 在 Thread.sleep(60000) 里

        listThreads();                                   // 此刻的全部线程

        synchronized (MONITOR) {
            released = true;
            MONITOR.notifyAll();                         // 唤醒 waiter，但锁仍在主线程手里
            awaitState(waiter, Thread.State.BLOCKED);    // 等着重新获得监视器锁
        }
        waiter.join();
        report(waiter);                                  // TERMINATED
        sleeper.interrupt();
        sleeper.join();
        report(sleeper);

        sharedHeapPrivateStack();
    }

    private static void waitForRelease() {
        while (!go) {
            Thread.onSpinWait();
        }
        synchronized (MONITOR) {
            while (!released) {
                try {
                    MONITOR.wait();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** 轮询直到线程进入期望状态（最多 10 秒），并打印一行 STATE。 */
    private static void awaitState(Thread t, Thread.State expected) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (t.getState() != expected) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(t.getName() + " never reached " + expected + ", is " + t.getState());
            }
            Thread.sleep(1);
        }
        report(t);
    }

    private static void report(Thread t) {
        System.out.println("STATE " + t.getName() + " " + t.getState());
    }

    private static void listThreads() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        ThreadInfo[] infos = mx.dumpAllThreads(false, false);
        System.out.println("THREADS count=" + infos.length + " live=" + mx.getThreadCount()
                + " daemon=" + mx.getDaemonThreadCount() + " peak=" + mx.getPeakThreadCount());
        for (ThreadInfo info : infos) {
            System.out.println("THREAD id=" + info.getThreadId() + " daemon=" + info.isDaemon()
                    + " state=" + info.getThreadState() + " name=" + info.getThreadName());
        }
        Path tasks = Path.of("/proc/self/task");       // 仅 Linux：操作系统眼中本进程的全部线程
        if (Files.isDirectory(tasks)) {
            try (Stream<Path> s = Files.list(tasks)) {
                System.out.println("OS_THREADS count=" + s.count());
            } catch (java.io.IOException e) {
                System.out.println("OS_THREADS unavailable");
            }
        }
    }

    /** 堆上的计数器被两个线程共享；每个线程的循环变量在自己的栈帧里；栈的深度受各线程栈大小限制。 */
    private static void sharedHeapPrivateStack() throws InterruptedException {
        AtomicInteger shared = new AtomicInteger();      // 对象在堆上，两个线程拿到同一个引用
        int[] localCounts = new int[2];
        Thread[] workers = new Thread[2];
        for (int w = 0; w < 2; w++) {
            final int id = w;
            workers[w] = new Thread(() -> {
                int mine = 0;                            // 局部变量：每个线程的栈上各有一份
                for (int i = 0; i < 100_000; i++) {
                    shared.incrementAndGet();
                    mine++;
                }
                localCounts[id] = mine;
            }, "worker-" + w);
            workers[w].start();
        }
        for (Thread t : workers) {
            t.join();
        }
        System.out.println("HEAP shared=" + shared.get() + " local0=" + localCounts[0] + " local1=" + localCounts[1]);

        int[] depth = new int[2];
        long[] sizes = {256L * 1024, 8L * 1024 * 1024};
        for (int k = 0; k < 2; k++) {
            final int idx = k;
            Thread t = new Thread(null, () -> depth[idx] = maxDepth(), "stack-" + sizes[k], sizes[k]);
            t.start();
            t.join();
        }
        System.out.println("STACK small=" + depth[0] + " large=" + depth[1]);
    }

    private static int counter;

    private static int maxDepth() {
        counter = 0;
        try {
            recurse();
        } catch (StackOverflowError e) {
            // 只有这个线程的栈溢出，其他线程不受影响
        }
        return counter;
    }

    private static void recurse() {
        counter++;
        recurse();
    }
}
