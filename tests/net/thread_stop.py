#!/usr/bin/env python3
"""Stops one thread of a process, and only that one, for SECONDS, then lets
it go on: ptrace(PTRACE_SEIZE) and PTRACE_INTERRUPT on the thread's id
(SIGSTOP would stop every thread).  The thread is found by its name
(/proc/PID/task/TID/comm).  Stands in for a worker stuck in the kernel.

    thread_stop.py PID NAME SECONDS
"""
import ctypes
import os
import sys
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
__WALL = 0x40000000


def main():
    pid, name, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    tid = None
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/comm") as f:
            if f.read().strip() == name:
                tid = int(t)
    if tid is None:
        print(f"no thread {name} in {pid}", file=sys.stderr)
        return 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0 or \
            libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
        print(f"ptrace: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    os.waitpid(tid, __WALL)
    print(f"stopped {name} (tid {tid})", flush=True)
    time.sleep(secs)
    libc.ptrace(PTRACE_DETACH, tid, None, None)
    print(f"released {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
