"""Tiny launcher that measures exactly one program: ``python -I -S bench/launch.py FD TIMEOUT CMD...``.

Why: a child's ``ru_maxrss`` is the largest of every address space it ever had. A child
forked (or vforked, or ``posix_spawn``-ed) by the bench starts in the bench's address space,
and exec folds that space's high-water mark into the child's figure: a 400 MB bench made
``python -c pass`` read 412 MB. This launcher is itself small (about 9 MB, no imports beyond
the interpreter's core), so the command it spawns carries at most the launcher's pages into
its exec, below the peak of any Python program measured here.

It spawns CMD (same cwd, environment and stdio), kills it with SIGKILL after TIMEOUT
seconds (0: never), waits with ``wait4`` and writes one line to file descriptor FD:
``seconds cpu_seconds maxrss_kb returncode`` (returncode as ``subprocess``: -N for signal N).
"""

import os
import signal
import sys
import time


def main() -> int:
    result_fd, timeout, command = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    os.set_inheritable(result_fd, False)  # the measured program does not get it
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    if timeout > 0:
        signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
        signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    line = f"{seconds} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}\n"
    os.write(result_fd, line.encode())
    os.close(result_fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
