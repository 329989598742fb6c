#!/usr/bin/env python3
"""tcpsink: bidirectional bulk TCP transfer with sha256, for syngate's netns tests.

Both ends send N pseudo-random bytes and, at the same time, read until EOF.
Each prints one line of key=value pairs (flushed) per connection:

    role=server peer=198.51.100.2 sent=N sent_sha256=HEX recv=M recv_sha256=HEX secs=S

The harness compares client.sent_sha256 == server.recv_sha256 and the reverse.

  tcpsink.py serve --port P --bytes N [--bind ::] [--count 1] [--timeout 60] [--rcvbuf B]
  tcpsink.py send  --host H --port P --bytes N [--timeout 60]

The server binds a dual-stack socket (IPV6_V6ONLY=0) on '::' by default, so IPv4
peers show up as plain dotted quads (the ::ffff: prefix is stripped).  --rcvbuf sets
SO_RCVBUF on the listening socket (inherited by accepted ones), which also bounds
the window scale the server advertises.
Python 3 standard library only.
"""
import argparse
import hashlib
import os
import random
import socket
import sys
import threading
import time

CHUNK = 256 * 1024


def _peer(addr):
    host = addr[0]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host


def _sender(sock, nbytes, result):
    h = hashlib.sha256()
    rnd = random.Random(os.urandom(16))
    left = nbytes
    try:
        while left > 0:
            n = min(CHUNK, left)
            buf = rnd.randbytes(n)
            h.update(buf)
            sock.sendall(buf)
            left -= n
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:  # reported by the caller
        result["error"] = "send: %s" % e
    result["sent"] = nbytes - left
    result["sha"] = h.hexdigest()


def transfer(sock, nbytes):
    """Send nbytes and receive until EOF concurrently; return (sent, ssha, recv, rsha, err)."""
    sres = {}
    t = threading.Thread(target=_sender, args=(sock, nbytes, sres), daemon=True)
    t.start()
    h = hashlib.sha256()
    got = 0
    err = None
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while True:
            n = sock.recv_into(view)
            if n == 0:
                break
            h.update(view[:n])
            got += n
    except OSError as e:
        err = "recv: %s" % e
    t.join()
    err = err or sres.get("error")
    return sres.get("sent", 0), sres.get("sha", ""), got, h.hexdigest(), err


def report(role, peer, sent, ssha, recv, rsha, secs, err):
    line = "role=%s peer=%s sent=%d sent_sha256=%s recv=%d recv_sha256=%s secs=%.3f" % (
        role, peer, sent, ssha, recv, rsha, secs)
    if err:
        line += " error=%s" % err.replace(" ", "_")
    print(line, flush=True)


def serve(args):
    fam = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    if args.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    ls.bind((args.bind, args.port))
    ls.listen(16)
    ls.settimeout(args.timeout)
    rc = 0
    for _ in range(args.count):
        try:
            s, addr = ls.accept()
        except socket.timeout:
            print("role=server error=accept_timeout", flush=True)
            return 2
        s.settimeout(args.timeout)
        t0 = time.monotonic()
        sent, ssha, recv, rsha, err = transfer(s, args.bytes)
        s.close()
        report("server", _peer(addr), sent, ssha, recv, rsha, time.monotonic() - t0, err)
        if err:
            rc = 1
    return rc


def send(args):
    t0 = time.monotonic()
    try:
        s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as e:
        print("role=client error=connect:_%s" % str(e).replace(" ", "_"), flush=True)
        return 2
    s.settimeout(args.timeout)
    sent, ssha, recv, rsha, err = transfer(s, args.bytes)
    s.close()
    report("client", args.host, sent, ssha, recv, rsha, time.monotonic() - t0, err)
    return 1 if err else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("serve")
    a.add_argument("--bind", default="::")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--bytes", type=int, required=True)
    a.add_argument("--count", type=int, default=1)
    a.add_argument("--timeout", type=float, default=60.0)
    a.add_argument("--rcvbuf", type=int, default=0)
    b = sub.add_parser("send")
    b.add_argument("--host", required=True)
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--bytes", type=int, required=True)
    b.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    return serve(args) if args.cmd == "serve" else send(args)


if __name__ == "__main__":
    sys.exit(main())
