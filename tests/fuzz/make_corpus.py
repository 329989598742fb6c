#!/usr/bin/env python3
"""Writes the built seeds of tests/fuzz/corpus/<target>/ (see README.md).

Seeds named k-* come from packets the kernel sent (tests/unit/kernel_vectors.h,
captured with tcpdump); b-* are built here to the kernel's formats; c-* files
(captured from a real kernel, see README.md) and regress-* files (inputs that
once crashed a target) are kept as they are and never written by this script.
Run from anywhere: python3 tests/fuzz/make_corpus.py
"""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- packets -----------------------------------------------------------------

def kernel_vectors():
    text = open(os.path.join(ROOT, "tests/unit/kernel_vectors.h")).read()
    out = {}
    for name, body in re.findall(r"static const uint8_t (\w+)\[\d+\] = \{([^}]*)\}", text):
        out[name] = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-f]+", body))
    return out


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


LINUX_OPTS = bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7])
C4, S4 = bytes([198, 51, 100, 7]), bytes([203, 0, 113, 10])
C6 = bytes.fromhex("20010db8000000000000000000000007")
S6 = bytes.fromhex("20010db8000100000000000000000010")


def tcp(src, dst, sport, dport, seq, ack, flags, win=64240, opts=b"", payload=b""):
    doff = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + opts
    seg = hdr + payload
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), 6)
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4(src, dst, seg, ipopts=b"", frag=0x4000, proto=6, ttl=64):
    ihl = (20 + len(ipopts)) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(seg), 0x1234, frag, ttl, proto,
                    0, src, dst) + ipopts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + seg


def ipv6(src, dst, seg, nh=6, ext=b""):
    return struct.pack("!IHBB", 0x60000000, len(ext) + len(seg), nh, 64) + src + dst + ext + seg


SYN, ACK, RST, FIN, PSH = 2, 0x10, 4, 1, 8


def packets(kv):
    p = {}
    for k in ("kv_v4_syn", "kv_v4_synack", "kv_v4_data_odd", "kv_v6_syn", "kv_v6_synack",
              "kv_v6_data"):
        p["k-" + k[3:]] = kv[k]
    p["b-v4-syn-hping"] = ipv4(C4, S4, tcp(C4, S4, 2048, 80, 0x11111111, 0, SYN, 512))
    p["b-v4-syn-linux"] = ipv4(C4, S4, tcp(C4, S4, 40000, 80, 0x5A2B369D, 0, SYN, opts=LINUX_OPTS))
    p["b-v6-syn-linux"] = ipv6(C6, S6, tcp(C6, S6, 40000, 443, 0x0BA3C1D3, 0, SYN, opts=LINUX_OPTS))
    p["b-v4-ack"] = ipv4(C4, S4, tcp(C4, S4, 40000, 80, 0x5A2B369E, 0x60982898, ACK, 502))
    p["b-v6-ack-data"] = ipv6(C6, S6, tcp(C6, S6, 40000, 443, 0x0BA3C1D4, 0x1, ACK | PSH, 502,
                                         payload=b"GET / HTTP/1.1\r\n\r\n"))
    p["b-v4-rst"] = ipv4(S4, C4, tcp(S4, C4, 80, 40000, 0, 0x5A2B369E, RST | ACK, 0))
    p["b-v4-syn-ipopts"] = ipv4(C4, S4, tcp(C4, S4, 40001, 80, 7, 0, SYN, opts=LINUX_OPTS),
                                ipopts=b"\x01\x01\x01\x00")
    p["b-v4-fragment"] = ipv4(C4, S4, tcp(C4, S4, 40002, 80, 7, 0, SYN), frag=0x2000)
    hbh = bytes([6, 0, 1, 4, 0, 0, 0, 0])  # hop-by-hop, PadN
    p["b-v6-syn-hbh"] = ipv6(C6, S6, tcp(C6, S6, 40003, 443, 9, 0, SYN, opts=LINUX_OPTS), nh=0,
                             ext=hbh)
    # options: an odd length past the header, a bad MSS length, EOL then junk
    p["b-v4-syn-badopt"] = ipv4(C4, S4, tcp(C4, S4, 40004, 80, 7, 0, SYN,
                                            opts=bytes([2, 3, 5, 1, 1, 1, 1, 0])))
    p["b-v4-syn-eol"] = ipv4(C4, S4, tcp(C4, S4, 40005, 80, 7, 0, SYN,
                                         opts=bytes([2, 4, 5, 0xB4, 0, 8, 10, 0])))
    return p


# --- XDP: 7 bytes of settings, then an Ethernet frame -------------------------------

MAC_S, MAC_C = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def eth(ip):
    return MAC_S + MAC_C + (b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00") + ip


def xdp_seeds(pk):
    # byte 0: engaged, drop-acks, IPv4, IPv6 (+ learned backend 0x40); byte 1:
    # backend MSS 1460, wscale 7, SACK; byte 2: the client ACKs the SYN-ACK
    # (| 0x10: every port protected, for the kernel's packets to port 8080)
    on, learned, backend = 0x35, 0x75, 0x7E
    s = {}
    for name in ("k-v4_syn", "k-v6_syn", "b-v4-syn-linux", "b-v6-syn-linux"):
        s[name] = bytes([learned, backend, 0x11, 0, 0, 0, 0]) + eth(pk[name])
    s["b-v4-syn-hping-unknown"] = bytes([on, 0, 1, 0, 0, 0, 0]) + eth(pk["b-v4-syn-hping"])
    s["b-v4-syn-probe-data"] = bytes([learned, backend, 0x17, 0, 0, 0, 0]) + eth(pk["k-v4_syn"])
    s["b-v6-syn-forged-ack"] = bytes([learned, backend, 0x19, 0, 0, 1, 0]) + eth(pk["k-v6_syn"])
    s["b-v4-syn-learn"] = bytes([on | 2, 0, 0x61, 0, 0, 0, 0]) + eth(pk["b-v4-syn-linux"])
    s["b-v4-syn-ct"] = bytes([learned | 8, backend, 0x10, 0, 0, 0, 0]) + eth(pk["k-v4_syn"])
    s["b-v4-ack-forged"] = bytes([on, 0, 0, 0, 0, 0, 0]) + eth(pk["b-v4-ack"])
    s["b-v6-ack-data-forged"] = bytes([on, 0, 0, 0, 0, 0, 0]) + eth(pk["b-v6-ack-data"])
    s["b-v4-syn-ipopts"] = bytes([on, 0, 0, 0, 0, 0, 0]) + eth(pk["b-v4-syn-ipopts"])
    s["b-v6-syn-hbh"] = bytes([on, 0, 0, 0, 0, 0, 0]) + eth(pk["b-v6-syn-hbh"])
    s["b-v4-syn-badopt"] = bytes([on, 0, 0, 0, 0, 0, 0]) + eth(pk["b-v4-syn-badopt"])
    # a 60-byte minimum frame: the SYN padded by the NIC
    s["b-v4-syn-padded"] = bytes([learned, backend, 1, 0, 0, 0, 0]) + eth(pk["b-v4-syn-hping"]) + \
        b"\0" * 6
    s["b-v4-synack-kernel"] = bytes([on, 0, 0x10, 0, 0, 0, 0]) + eth(pk["k-v4_synack"])
    return s


# --- netlink ----------------------------------------------------------------------

NLA_F_NESTED = 0x8000


def align(b):
    return b + b"\0" * (-len(b) % 4)


def attr(t, payload):
    return align(struct.pack("=HH", 4 + len(payload), t) + payload)


def nest(t, *attrs):
    body = b"".join(attrs)
    return struct.pack("=HH", 4 + len(body), t | NLA_F_NESTED) + body


def nlmsg(typ, payload, flags=0, seq=0, pid=0, pad=True):
    m = struct.pack("=IHHII", 16 + len(payload), typ, flags, seq, pid) + payload
    return align(m) if pad else m


def nfgen(family, res_id=0):
    return struct.pack("=BB", family, 0) + struct.pack("!H", res_id)


def be32(v):
    return struct.pack("!I", v)


def be16(v):
    return struct.pack("!H", v)


NFQ_PACKET = (3 << 8) | 0  # NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET
NLMSG_ERROR, NLMSG_DONE = 2, 3


def nfq_packet(pid, ip, hook=0, mark=0, indev=2, cap_len=None, hw=True, family=2):
    hdr = be32(pid) + be16(0x0800 if ip[0] >> 4 == 4 else 0x86DD) + bytes([hook])
    a = attr(1, hdr)  # NFQA_PACKET_HDR
    a += attr(5, be32(indev))  # NFQA_IFINDEX_INDEV
    if mark:
        a += attr(3, be32(mark))  # NFQA_MARK
    if hw:
        a += attr(9, be16(6) + b"\0\0" + MAC_C + b"\0\0")  # NFQA_HWADDR
    if cap_len is not None:
        a += attr(15, be32(cap_len))  # NFQA_CAP_LEN
    a += attr(16, be32(0))  # NFQA_SKB_INFO
    # NFQA_PAYLOAD last and unpadded, as the kernel leaves it
    pl = struct.pack("=HH", 4 + len(ip), 10) + ip
    return nlmsg(NFQ_PACKET, nfgen(family) + a + pl, pad=False)


def nlerr(err, seq, pid=0, req_type=0, req_seq=None):
    req = struct.pack("=IHHII", 16, req_type, 0, seq if req_seq is None else req_seq, pid)
    return nlmsg(NLMSG_ERROR, struct.pack("=i", err) + req, seq=seq, pid=pid)


def nfq_seeds(pk):
    s = {}
    s["b-v4-syn"] = nfq_packet(1, pk["k-v4_syn"])
    s["b-v6-syn"] = nfq_packet(2, pk["k-v6_syn"], family=10)
    s["b-v4-ack-complete-mark"] = nfq_packet(3, pk["b-v4-ack"], mark=0x04000000)
    s["b-v4-synack-pending"] = nfq_packet(4, pk["k-v4_synack"], mark=0x10000000, hw=False)
    s["b-v6-data-truncated"] = nfq_packet(5, pk["k-v6_data"][:60], cap_len=len(pk["k-v6_data"]),
                                          family=10)
    # two packets in one datagram (the first padded), then a verdict's error
    s["b-two-packets-error"] = align(nfq_packet(6, pk["k-v4_syn"])) + \
        nfq_packet(7, pk["b-v4-ack"]) + b"\0" * 0
    s["b-errors"] = nlerr(-2, 8, req_type=(3 << 8) | 1) + nlerr(0, 1) + nlmsg(NLMSG_DONE, b"")
    s["b-no-payload"] = nlmsg(NFQ_PACKET, nfgen(2) + attr(1, be32(9) + be16(0x800) + b"\0"))
    return s


CT_NEW, CT_DELETE = (1 << 8) | 0, (1 << 8) | 2


def ct_tuple(t, src, dst, sport, dport):
    if len(src) == 4:
        ip = nest(1, attr(1, src), attr(2, dst))
    else:
        ip = nest(1, attr(3, src), attr(4, dst))
    proto = nest(2, attr(1, bytes([6])), attr(2, be16(sport)), attr(3, be16(dport)))
    return nest(t, ip, proto)


def ct_entry(src, dst, sport, dport, mark=None, family=2):
    a = ct_tuple(1, src, dst, sport, dport) + ct_tuple(2, dst, src, dport, sport)
    a += attr(3, be32(0x18e))  # CTA_STATUS: confirmed, seen reply, assured, ...
    if mark is not None:
        a += attr(8, be32(mark))  # CTA_MARK
    a += attr(12, be32(0x2A3B4C5D))  # CTA_ID
    a += attr(11, be32(1))  # CTA_USE
    return nfgen(family) + a


def ct_seeds():
    s = {}
    ev = lambda mark, mask: bytes([0]) + be32(mark) + be32(mask)
    s["b-event-v4-proxied"] = ev(0x08000000, 0x08000000) + \
        nlmsg(CT_DELETE, ct_entry(C4, S4, 40000, 80, mark=0x08000000))
    s["b-event-v6-nomark"] = ev(0, 0) + nlmsg(CT_DELETE, ct_entry(C6, S6, 40000, 443, family=10))
    s["b-events-two"] = ev(0x08000000, 0x08000000) + \
        nlmsg(CT_DELETE, ct_entry(C4, S4, 40000, 80, mark=0x08000000)) + \
        nlmsg(CT_DELETE, ct_entry(C6, S6, 40001, 443, mark=0x10000000, family=10))
    lk = lambda n, seq0: bytes([1, n]) + be32(seq0) + b"\0\0\0"
    s["b-lookup-answers"] = lk(3, 100) + \
        nlmsg(CT_NEW, ct_entry(C4, S4, 40000, 80, mark=0), seq=100) + \
        nlerr(-2, 101, req_type=(1 << 8) | 1) + nlerr(-22, 102, req_type=(1 << 8) | 1)
    ack = lambda seq, pid: bytes([2]) + be32(seq) + be32(pid)
    s["b-ack-ok"] = ack(7, 1234) + nlerr(0, 7, pid=1234, req_type=CT_NEW)
    s["b-ack-eexist"] = ack(8, 1234) + nlerr(-17, 8, pid=1234, req_type=CT_NEW)
    s["b-ack-get-entry"] = ack(9, 1234) + \
        nlmsg(CT_NEW, ct_entry(C4, S4, 40000, 80, mark=0x08000000), seq=9, pid=1234) + \
        nlerr(0, 9, pid=1234, req_type=(1 << 8) | 1)
    return s


# --- the proxy: configuration, fault script, operations (fuzz_proxy.c) --------

def proxy_seeds():
    def syn(client, isn, optbits=0x0F, tsval=0x1000):
        b = bytes([1, client]) + be32(isn) + bytes([0, optbits])
        if optbits & 4:
            b += be32(tsval)
        return b

    ack = lambda how=0, win=502: bytes([2, how]) + be16(win)
    ack_ts = lambda: bytes([2, 32]) + be16(502) + be32(0x2000) + be32(0)
    synack = lambda seq=0x77777777, opts=0x0B: bytes([3, 0]) + be32(seq) + be16(65160) + \
        bytes([opts]) + (be32(0x3000) if opts & 4 else b"")
    tick = lambda ms, budget=255: bytes([5 | 0x10]) + be16(ms) + bytes([budget])
    s = {}
    always = 0x01 | (1 << 5)  # mode always, table 2
    s["b-handshake-v4"] = bytes([always, 0]) + syn(0, 0x11111111) + ack() + synack() + tick(100)
    s["b-handshake-v6-ts"] = bytes([always | 4, 0]) + syn(4, 0x22222222) + ack_ts() + \
        synack(opts=0x0F) + tick(100)
    # hook calls: SYN backend, ct_lookup; ACK backend, ct_create; SYN-ACK send,
    # ct_establish.  ct_create fails EEXIST (fault 1 | 0 << 1), the stale entry
    # is deleted and created again
    s["b-create-eexist"] = bytes([always, 6, 1, 0, 1, 1, 0, 0]) + syn(1, 5) + ack() + synack()
    # ct_establish fails EIO (1 | 2 << 1): both ends reset
    s["b-establish-fails"] = bytes([always, 8, 1, 0, 1, 0, 0, 5, 0, 0]) + syn(0, 5) + ack() + \
        synack()
    s["b-backend-timeout"] = bytes([always, 0]) + syn(2, 9) + ack() + tick(1000) + tick(3000) + \
        tick(20000)
    s["b-backend-rst"] = bytes([always, 0]) + syn(0, 9) + ack() + bytes([3, 4])
    s["b-zero-window-probe"] = bytes([always | 8, 0]) + syn(5, 9) + ack(how=1) + ack()
    s["b-forged-ack-rst"] = bytes([always | 8, 0]) + syn(0, 9) + bytes([2, 2]) + be32(0x100) + \
        be16(502)
    s["b-adaptive-flood"] = bytes([0x02 | (7 << 5), 0]) + b"".join(syn(i & 7, i) for i in range(12)) + \
        ack() + tick(3000)
    s["b-learn-first"] = bytes([always | 0x10, 1, 1]) + syn(0, 1) + \
        bytes([4, 8]) + be32(0x55555555) + be32(2) + bytes([0x12]) + be16(65160) + ack()
    raw = packets(kernel_vectors())["k-v4_syn"]
    s["b-raw-kernel-syn"] = bytes([always, 0]) + bytes([0, len(raw)]) + raw
    return s


# --- configuration files (and iptables-save after a NUL) -----------------------

def config_seeds():
    s = {}
    s["k-deploy-syngate.conf"] = open(os.path.join(ROOT, "deploy/syngate.conf"), "rb").read()
    s["b-adaptive.conf"] = b"""[syngate]
ports = 80, 443, 8080
mode = adaptive
adaptive-high = 2000
adaptive-low = 1000
adaptive-window-ms = 500
queues = 4
lane = yes
lane-rate = 500
shed-rate = 20000
"""
    s["b-v6-timestamps.conf"] = b"""; IPv6 only, timestamps, XDP off
[syngate]
ports = 443
ipv4 = off
ipv6 = on
timestamps = yes
xdp = off
interfaces = eth0,eth1
mark-pending = 0x100
mark-proxied = 0x200
reflect-mark = 0x400
complete-mark = 0x800
known-mark = 0x1000
lane-mark = 0x2000
"""
    s["b-bad-marks.conf"] = b"[syngate]\nports = 80\nmark-pending = 0x20000000\n"
    s["b-unknown-section.conf"] = b"[other]\nports = 80\n"
    saved = b"""# Generated by iptables-save v1.8.9
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SYNGATE-RAW - [0:0]
-A PREROUTING -j SYNGATE-RAW
-A SYNGATE-RAW -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j NFQUEUE --queue-num 0
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:SYNGATE-MANGLE - [0:0]
-A PREROUTING -i eth0 -j SYNGATE-MANGLE
COMMIT
"""
    s["b-with-saved-rules"] = s["k-deploy-syngate.conf"] + b"\0" + saved
    return s


def main():
    kv = kernel_vectors()
    pk = packets(kv)
    for name, data in pk.items():
        write("packet", name, data)
    for name, data in xdp_seeds(pk).items():
        write("xdp", name, data)
    for name, data in nfq_seeds(pk).items():
        write("nfq", name, data)
    for name, data in ct_seeds().items():
        write("ct", name, data)
    for name, data in proxy_seeds().items():
        write("proxy", name, data)
    for name, data in config_seeds().items():
        write("config", name, data)


if __name__ == "__main__":
    main()
