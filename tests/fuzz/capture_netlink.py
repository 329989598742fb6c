#!/usr/bin/env python3
"""Captures real netlink datagrams from the kernel as fuzz seeds (c-* files).

Root; two network namespaces of its own joined by a veth pair (192.0.2.0/24,
2001:db8::/64), deleted at the end.  Writes:
  corpus/nfq/c-*   nfnetlink_queue datagrams: client SYNs (v4, v6) queued in
                   PREROUTING of the server namespace, with a mark; the
                   kernel's error answering a verdict for an unknown id
  corpus/ct/c-*    (with fuzz_ct's 9-byte header) ctnetlink destroy events
                   of entries made with conntrack(8), the answers to lookups
                   (an entry, ENOENT) and a request's acknowledgement
Run: sudo python3 tests/fuzz/capture_netlink.py
"""
import ctypes
import os
import socket
import struct
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
NS_C, NS_S = "fzcap-c-%d" % os.getpid(), "fzcap-s-%d" % os.getpid()
NETLINK_NETFILTER, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 12, 270, 1


def sh(*cmd, ns=None, check=True):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    return subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns " + name)
    os.close(fd)


def save(target, name, data):
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data)
    print("%s/%s: %d bytes" % (target, name, len(data)))


def nlmsg(typ, flags, seq, payload):
    m = struct.pack("=IHHII", 16 + len(payload), typ, flags, seq, 0) + payload
    return m + b"\0" * (-len(m) % 4)


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def nest(t, *attrs):
    body = b"".join(attrs)
    return struct.pack("=HH", 4 + len(body), t | 0x8000) + body


def nfgen(family, res_id=0):
    return struct.pack("=BB", family, 0) + struct.pack("!H", res_id)


def recv_all(s, timeout=1.0):
    out = []
    s.settimeout(timeout)
    try:
        while True:
            out.append(s.recv(1 << 17))
            s.settimeout(0.2)
    except socket.timeout:
        pass
    return out


def setup():
    sh("ip", "netns", "add", NS_C)
    sh("ip", "netns", "add", NS_S)
    sh("ip", "link", "add", "fzc0", "netns", NS_C, "type", "veth", "peer", "fzs0", "netns", NS_S)
    for ns, dev, a4, a6 in ((NS_C, "fzc0", "192.0.2.1/24", "2001:db8::1/64"),
                            (NS_S, "fzs0", "192.0.2.2/24", "2001:db8::2/64")):
        sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "addr", "add", a4, "dev", dev, ns=ns)
        sh("ip", "addr", "add", a6, "dev", dev, "nodad", ns=ns)
        sh("ip", "link", "set", dev, "up", ns=ns)


def teardown():
    sh("ip", "netns", "del", NS_C, check=False)
    sh("ip", "netns", "del", NS_S, check=False)


def connect_bg(ns, addr, port):
    """A client SYN (and its retransmissions) from namespace @ns, in the background."""
    code = ("import socket,sys\nf=socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET\n"
            "s=socket.socket(f);s.settimeout(1.5)\ntry: s.connect((sys.argv[1],int(sys.argv[2])))\n"
            "except Exception: pass\n")
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, addr, str(port)])


def capture_nfq():
    for tool in ("iptables", "ip6tables"):
        sh(tool, "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "MARK",
           "--set-mark", "0x4000000", ns=NS_S)
        sh(tool, "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "NFQUEUE",
           "--queue-num", "0", ns=NS_S)
    setns(NS_S)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    # bind queue 0, copy whole packets: what sg_nfq_open() asks for
    cfg = nfgen(0, 0) + attr(1, struct.pack("!BxH", 1, 0)) + attr(2, struct.pack("!IB", 0xFFFF, 2))
    s.send(nlmsg((3 << 8) | 2, 0x1 | 0x4, 1, cfg))
    got = recv_all(s, 0.5)
    procs = [connect_bg(NS_C, addr, 80) for addr in ("192.0.2.2", "2001:db8::2")]
    got += recv_all(s, 1.0)
    for p in procs:
        p.wait()
    # a verdict for an id the kernel does not hold: its error answer
    vhdr = attr(2, struct.pack("!II", 1, 999999))  # NFQA_VERDICT_HDR: accept, id
    s.send(nlmsg((3 << 8) | 1, 0x1, 999999, nfgen(0, 0) + vhdr))
    got += recv_all(s, 0.5)
    want = {"c-config-ack": lambda t, e, hw: t == 2 and e == 0,
            "c-verdict-enoent": lambda t, e, hw: t == 2 and e != 0,
            "c-v4-syn-prerouting-mark": lambda t, e, hw: t == 0x300 and hw == 0x0800,
            "c-v6-syn-prerouting-mark": lambda t, e, hw: t == 0x300 and hw == 0x86DD}
    for d in got:
        t = struct.unpack_from("=H", d, 4)[0]
        e = struct.unpack_from("=i", d, 16)[0] if t == 2 else 0
        hw = struct.unpack_from("!H", d, 28)[0] if t == 0x300 else 0
        for name, match in list(want.items()):
            if match(t, e, hw):
                save("nfq", name, d)
                del want[name]
                break
    s.close()


def ct_tuple(t, src, dst, sport, dport, v6):
    ip = nest(1, attr(3 if v6 else 1, src), attr(4 if v6 else 2, dst))
    proto = nest(2, attr(1, bytes([6])), attr(2, struct.pack("!H", sport)),
                 attr(3, struct.pack("!H", dport)))
    return nest(t, ip, proto)


def capture_ct():
    setns(NS_S)
    ev = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    ev.bind((0, 0))
    ev.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 3)  # NFNLGRP_CONNTRACK_DESTROY
    rq = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    rq.bind((0, 0))
    pid = rq.getsockname()[0]
    entries = (("192.0.2.1", "192.0.2.2", False, "0x8000000"),
               ("2001:db8::1", "2001:db8::2", True, "0x8000000"))
    for src, dst, v6, mark in entries:
        sh("conntrack", "-I", "-p", "tcp", "-s", src, "-d", dst, "--sport", "40000", "--dport", "80",
           "--state", "ESTABLISHED", "-t", "60", "-m", mark, ns=NS_S)
    fam = (socket.AF_INET, socket.AF_INET6)
    # lookups: one datagram of answers each (the entry; ENOENT for port 40001)
    for (src, dst, v6, _), tag in zip(entries, ("v4", "v6")):
        a, b = socket.inet_pton(fam[v6], src), socket.inet_pton(fam[v6], dst)
        for sport, what in ((40000, "entry"), (40001, "enoent")):
            seq = 100 + sport - 40000
            rq.send(nlmsg((1 << 8) | 1, 0x1, seq, nfgen(fam[v6]) + ct_tuple(1, a, b, sport, 80, v6)))
            for i, d in enumerate(recv_all(rq, 0.5)):
                save("ct", "c-lookup-%s-%s-%d" % (tag, what, i),
                     bytes([1, 1]) + struct.pack("!I", seq) + b"\0\0\0" + d)
        # with NLM_F_ACK: the entry, then the acknowledgement (ct_request)
        seq = 200
        rq.send(nlmsg((1 << 8) | 1, 0x1 | 0x4, seq, nfgen(fam[v6]) + ct_tuple(1, a, b, 40000, 80, v6)))
        for i, d in enumerate(recv_all(rq, 0.5)):
            save("ct", "c-ack-get-%s-%d" % (tag, i),
                 bytes([2]) + struct.pack("!II", seq, pid) + d)
    for src, dst, v6, _ in entries:
        sh("conntrack", "-D", "-p", "tcp", "-s", src, "-d", dst, "--sport", "40000", "--dport", "80",
           ns=NS_S)
    for i, d in enumerate(recv_all(ev, 1.0)):
        save("ct", "c-destroy-event-%d" % i, bytes([0]) + struct.pack("!II", 0x8000000, 0x8000000) + d)
    ev.close()
    rq.close()


def main():
    if os.geteuid() != 0:
        sys.exit("capture_netlink.py: root needed (namespaces, NFQUEUE, conntrack)")
    setup()
    try:
        for fn in (capture_nfq, capture_ct):
            pid = os.fork()
            if pid == 0:  # the namespace switch stays in the child
                code = 0
                try:
                    fn()
                except Exception:
                    traceback.print_exc()
                    code = 1
                os._exit(code)
            os.waitpid(pid, 0)
    finally:
        teardown()


if __name__ == "__main__":
    main()
