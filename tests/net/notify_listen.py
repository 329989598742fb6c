#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)): binds a unix
datagram socket at PATH (mode 0777, so a daemon that dropped its user can
send) and writes each datagram to stdout as "<monotonic seconds> <line>",
one line per assignment.  With --on-ready CMD, runs CMD (through sh) when
READY=1 arrives, before reading on, and prints its first output line as
"<t> ready-check <line>".

    notify_listen.py PATH [--on-ready CMD]
"""
import argparse
import os
import socket
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--on-ready", default="")
    a = ap.parse_args()
    try:
        os.unlink(a.path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.path)
    os.chmod(a.path, 0o777)
    print(f"{time.monotonic():.3f} listening", flush=True)
    while True:
        data = s.recv(4096)
        t = time.monotonic()
        for line in data.decode(errors="replace").splitlines():
            print(f"{t:.3f} {line}", flush=True)
            if line == "READY=1" and a.on_ready:
                out = subprocess.run(a.on_ready, shell=True, capture_output=True, text=True)
                first = (out.stdout.splitlines() or [""])[0]
                print(f"{t:.3f} ready-check {first}", flush=True)
                a.on_ready = ""


if __name__ == "__main__":
    sys.exit(main())
