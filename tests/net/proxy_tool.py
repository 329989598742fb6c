#!/usr/bin/env python3
"""proxy_tool: traffic helpers for tests/net/test_proxy.sh (Python 3 standard library only).

  proxy_tool.py conns --host H --port P [--count 1000] [--concurrency 100] [--timeout 10]
                      [--rate R] [--sport-base B]
      HTTP/1.0 GETs over COUNT connections, CONCURRENCY at a time (asyncio), and with
      --rate no more than R started per second (connection i at i/R s), with
      --sport-base from source port B + i (each port once: no port reuse); prints
      "ok=N failed=M secs=S" and the first few errors; exit 0 when every one got a 200.

  proxy_tool.py forge-synack --iface IF --dst-mac MAC --src A --sport P --dst B --dport Q
      writes one IPv4 SYN-ACK (MSS 536, wscale 14, SACK-permitted) from A:P to B:Q onto
      IF (AF_PACKET, to MAC): a client forging its backend's SYN-ACK on its own connection.
  proxy_tool.py http-serve --port P [--backlog 1024]
      dual-stack threaded HTTP server answering every GET with a small page; unlike
      "python3 -m http.server" (listen backlog 5) it keeps up with 100 concurrent clients.

  proxy_tool.py echo-serve --port P
      dual-stack echo server (one thread per connection), until killed.

  proxy_tool.py hold --host H --port P --go FILE [--bytes 1048576] [--timeout 30]
      connect, echo round 1 (a short line) and print "round1 ok"; wait until FILE exists;
      then echo BYTES of random data over the same connection and print "round2 ok" when
      every byte came back unchanged.  Exit 0 only if both rounds succeeded.

  proxy_tool.py fill --host H --port P --sources A1,A2,... [--per-source 4] [--secs 10]
      from each local source address, PER_SOURCE non-blocking connects to H:P (real
      kernel clients: they complete syngate's cookie handshake on their own); holds them
      SECS s, then prints "connected=N of M" (N: connect() finished without error).

  proxy_tool.py synflood6 --ifname IF --dst-mac MAC --dst ADDR --port P --secs S
      IPv6 SYN flood with random sources in 2001:db8:ff00::/40 and random ports and
      sequence numbers, over AF_PACKET on IF; prints "sent=N secs=S".
"""
import argparse
import asyncio
import hashlib
import ipaddress
import os
import random
import select
import socket
import struct
import sys
import threading
import time


# ------------------------------------------------------------------ conns
async def _one(host, port, timeout, errors, sport=0):
    try:
        local = ("::" if ":" in host else "0.0.0.0", sport) if sport else None
        r, w = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=local), timeout)
        try:
            w.write(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            await w.drain()
            data = await asyncio.wait_for(r.read(), timeout)
        finally:
            w.close()
        if data.startswith(b"HTTP/1.") and data.split(b" ", 2)[1] == b"200":
            return True
        errors.append("status: %r" % data[:40])
    except (OSError, asyncio.TimeoutError) as e:
        errors.append("%s: %s" % (type(e).__name__, e))
    return False


async def _conns(args):
    sem = asyncio.Semaphore(args.concurrency)
    errors = []

    t0 = asyncio.get_running_loop().time()

    async def run(i):
        if args.rate > 0:
            await asyncio.sleep(max(0.0, t0 + i / args.rate - asyncio.get_running_loop().time()))
        async with sem:
            sport = args.sport_base + i if args.sport_base else 0
            return await _one(args.host, args.port, args.timeout, errors, sport)

    res = await asyncio.gather(*(run(i) for i in range(args.count)))
    return sum(res), errors


def conns(args):
    t0 = time.monotonic()
    ok, errors = asyncio.run(_conns(args))
    print("ok=%d failed=%d secs=%.3f" % (ok, args.count - ok, time.monotonic() - t0), flush=True)
    for e in errors[:5]:
        print("error: %s" % e, flush=True)
    return 0 if ok == args.count else 1


# ------------------------------------------------------------------ forge-synack
def forge_synack(args):
    src, dst = socket.inet_aton(args.src), socket.inet_aton(args.dst)
    opts = bytes([2, 4, 0x02, 0x18, 1, 3, 3, 14, 4, 2, 1, 1])  # MSS 536, NOP, wscale 14, SACK-ok, NOPs
    tcp = struct.pack("!HHIIBBHHH", args.sport, args.dport, 0x12345678, 1,
                      (5 + len(opts) // 4) << 4, 0x12, 65535, 0, 0) + opts
    tcp = tcp[:16] + struct.pack("!H", ~_csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp) & 0xFFFF) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", ~_csum(ip) & 0xFFFF) + ip[12:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    mine = s.getsockname()[4]
    s.send(bytes.fromhex(args.dst_mac.replace(":", "")) + mine + b"\x08\x00" + ip + tcp)
    return 0


# ------------------------------------------------------------------ http-serve
def http_serve(args):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"syngate test page\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6
        request_queue_size = args.backlog
        daemon_threads = True

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    Server(("::", args.port), Handler).serve_forever()


# ------------------------------------------------------------------ echo / hold
def _echo(conn):
    with conn:
        while True:
            d = conn.recv(65536)
            if not d:
                return
            conn.sendall(d)


def echo_serve(args):
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", args.port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=_echo, args=(c,), daemon=True).start()


def _recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(min(65536, n - len(buf)))
        if not d:
            raise OSError("EOF after %d of %d bytes" % (len(buf), n))
        buf += d
    return bytes(buf)


def hold(args):
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    line = b"round 1 through syngate\n"
    s.sendall(line)
    if _recv_exact(s, len(line)) != line:
        print("round1 mismatch", flush=True)
        return 1
    print("round1 ok local=%s" % (s.getsockname(),), flush=True)
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.go):
        if time.monotonic() > deadline:
            print("round2 never started", flush=True)
            return 1
        time.sleep(0.05)
    data = random.Random(os.urandom(8)).randbytes(args.bytes)
    got = {}

    def reader():
        try:
            got["data"] = _recv_exact(s, len(data))
        except OSError as e:
            got["err"] = str(e)

    t = threading.Thread(target=reader)
    t.start()
    t0 = time.monotonic()
    try:
        s.sendall(data)
    except OSError as e:
        print("round2 send failed: %s" % e, flush=True)
        return 1
    t.join()
    if got.get("data") != data:
        print("round2 failed: %s" % got.get("err", "data differs"), flush=True)
        return 1
    print("round2 ok bytes=%d sha256=%s secs=%.3f" % (
        len(data), hashlib.sha256(data).hexdigest()[:16], time.monotonic() - t0), flush=True)
    s.close()
    return 0


# ------------------------------------------------------------------ fill
def fill(args):
    socks = []
    for src in args.sources.split(","):
        for _ in range(args.per_source):
            s = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.setblocking(False)
            s.connect_ex((args.host, args.port))
            socks.append(s)
    print("opened=%d" % len(socks), flush=True)
    time.sleep(args.secs)
    ok = 0
    for s in socks:
        _, w, _ = select.select([], [s], [], 0)
        if w and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            ok += 1
        s.close()
    print("connected=%d of %d" % (ok, len(socks)), flush=True)
    return 0


# ------------------------------------------------------------------ synflood6
def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def synflood6(args):
    with open("/sys/class/net/%s/address" % args.ifname) as f:
        src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    dst = ipaddress.IPv6Address(args.dst).packed
    eth = dst_mac + src_mac + b"\x86\xdd"
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.ifname, 0))
    rnd = random.Random(os.urandom(8))
    prefix = bytes([0x20, 0x01, 0x0D, 0xB8, 0xFF])
    # TCP header with MSS option, 24 bytes: pseudo-header sum without the source
    # address and the variable fields is constant.
    tcplen = 24
    base = _csum(dst + struct.pack("!IxxxB", tcplen, socket.IPPROTO_TCP))
    sent = 0
    t0 = time.monotonic()
    end = t0 + args.secs
    while True:
        if sent % 256 == 0 and time.monotonic() >= end:
            break
        src = prefix + rnd.randbytes(11)
        sport = rnd.randrange(1024, 65536)
        seq = rnd.getrandbits(32)
        tcp = struct.pack("!HHIIBBHHH", sport, args.port, seq, 0, 6 << 4, 0x02, 64240, 0, 0)
        tcp += b"\x02\x04\x05\xa0"
        c = base + _csum(src) + _csum(tcp)
        while c >> 16:
            c = (c & 0xFFFF) + (c >> 16)
        c = ~c & 0xFFFF
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip6 = struct.pack("!IHBB", 6 << 28, tcplen, socket.IPPROTO_TCP, 64) + src + dst
        try:
            s.send(eth + ip6 + tcp)
        except OSError:  # ENOBUFS: the qdisc is full, try again
            continue
        sent += 1
    print("sent=%d secs=%.3f" % (sent, time.monotonic() - t0), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("conns")
    a.add_argument("--host", required=True)
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--count", type=int, default=1000)
    a.add_argument("--concurrency", type=int, default=100)
    a.add_argument("--timeout", type=float, default=10.0)
    a.add_argument("--rate", type=float, default=0.0)
    a.add_argument("--sport-base", type=int, default=0)
    f = sub.add_parser("forge-synack")
    f.add_argument("--iface", required=True)
    f.add_argument("--dst-mac", required=True)
    f.add_argument("--src", required=True)
    f.add_argument("--sport", type=int, required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--dport", type=int, required=True)
    h = sub.add_parser("http-serve")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--backlog", type=int, default=1024)
    b = sub.add_parser("echo-serve")
    b.add_argument("--port", type=int, required=True)
    c = sub.add_parser("hold")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--go", required=True)
    c.add_argument("--bytes", type=int, default=1 << 20)
    c.add_argument("--timeout", type=float, default=30.0)
    f = sub.add_parser("fill")
    f.add_argument("--host", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--sources", required=True)
    f.add_argument("--per-source", type=int, default=4)
    f.add_argument("--secs", type=float, default=10.0)
    d = sub.add_parser("synflood6")
    d.add_argument("--ifname", required=True)
    d.add_argument("--dst-mac", required=True)
    d.add_argument("--dst", required=True)
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--secs", type=float, required=True)
    args = ap.parse_args()
    return {"conns": conns, "http-serve": http_serve, "echo-serve": echo_serve, "hold": hold,
            "fill": fill, "synflood6": synflood6, "forge-synack": forge_synack}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
