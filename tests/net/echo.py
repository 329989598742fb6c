#!/usr/bin/env python3
"""echo.py: a long-lived TCP connection for syngate's netns tests.

  echo.py serve --port P              echo server (dual-stack), one thread a connection
  echo.py hold --host H --port P --go FILE [--timeout 20]
        connect, exchange a line, wait until FILE exists, exchange another
        line on the same connection; prints "ok" and exits 0 when both echoed.
Python 3 standard library only.
"""
import argparse
import os
import socket
import sys
import threading
import time


def serve(port):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)

    def one(c):
        with c:
            while True:
                d = c.recv(4096)
                if not d:
                    return
                c.sendall(d)

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def exchange(c, line):
    c.sendall(line)
    got = b""
    while len(got) < len(line):
        d = c.recv(4096)
        if not d:
            break
        got += d
    return got == line


def hold(host, port, go, timeout):
    c = socket.create_connection((host, port), timeout=timeout)
    if not exchange(c, b"before\n"):
        print("first exchange failed")
        return 1
    print("connected", flush=True)
    end = time.time() + timeout
    while not os.path.exists(go):
        if time.time() > end:
            print("timed out waiting for", go)
            return 1
        time.sleep(0.05)
    if not exchange(c, b"after\n" * 1000):
        print("second exchange failed")
        return 1
    print("ok", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve", "hold"])
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--go")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    if a.mode == "serve":
        serve(a.port)
        return 0
    try:
        return hold(a.host, a.port, a.go, a.timeout)
    except OSError as e:
        print("error:", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
