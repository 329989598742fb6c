#!/usr/bin/env python3
"""ct_show: print what the kernel holds for one TCP conntrack entry, for the netns tests.

    ct_show.py SADDR SPORT DADDR DPORT

asks ctnetlink (IPCTNL_MSG_CT_GET) for the entry whose original tuple is the one given
(IPv4 or IPv6, after the address syntax) and prints one line of key=value pairs:

    state=3 tcp_flags=ORIG,REPLY status=0x... mark=M seqadj_orig=POS,BEFORE,AFTER seqadj_reply=POS,BEFORE,AFTER synproxy=ISN,ITS,TSOFF

(the offsets as unsigned 32-bit numbers; tcp_flags are conntrack's IP_CT_TCP_FLAG_* of each
direction, 0x08 BE_LIBERAL; a part the kernel did not send is left out).
The conntrack command line shows neither the sequence adjustment nor the synproxy
extension; the failover test compares them between the router that created an entry and
the one conntrackd replicated it to. Exit status 0, 1 when there is no such entry (or
ctnetlink refused), 2 on a usage error. Python 3 standard library only.
"""
import ipaddress
import os
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NLA_F_NESTED = 0x8000
CT_NEW, CT_GET = (1 << 8) | 0, (1 << 8) | 1  # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW/GET
# enum ctattr_type (linux/netfilter/nfnetlink_conntrack.h)
CTA_TUPLE_ORIG, CTA_STATUS, CTA_PROTOINFO, CTA_MARK = 1, 3, 4, 8
CTA_SEQ_ADJ_ORIG, CTA_SEQ_ADJ_REPLY, CTA_SYNPROXY = 15, 16, 24


def attr(kind, payload, nested=False):
    """One netlink attribute, padded to 4 bytes."""
    hdr = struct.pack("=HH", 4 + len(payload), kind | (NLA_F_NESTED if nested else 0))
    return hdr + payload + b"\0" * (-len(payload) % 4)


def attrs(buf):
    """{type: payload} of the attributes in buf (flags stripped)."""
    out, off = {}, 0
    while off + 4 <= len(buf):
        length, kind = struct.unpack_from("=HH", buf, off)
        if length < 4 or off + length > len(buf):
            break
        out[kind & 0x3FFF] = buf[off + 4:off + length]
        off += (length + 3) & ~3
    return out


def request(saddr, sport, daddr, dport):
    src, dst = ipaddress.ip_address(saddr), ipaddress.ip_address(daddr)
    family = socket.AF_INET if src.version == 4 else socket.AF_INET6
    base = 1 if family == socket.AF_INET else 3  # CTA_IP_V4_SRC / CTA_IP_V6_SRC
    ip = attr(base, src.packed) + attr(base + 1, dst.packed)
    proto = attr(1, bytes([socket.IPPROTO_TCP])) + attr(2, struct.pack("!H", sport)) \
        + attr(3, struct.pack("!H", dport))
    body = struct.pack("=BBH", family, 0, 0) \
        + attr(CTA_TUPLE_ORIG, attr(1, ip, True) + attr(2, proto, True), True)
    return struct.pack("=IHHII", 16 + len(body), CT_GET, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body


def triple(payload):
    a = attrs(payload)
    return ",".join(str(struct.unpack("!I", a[i])[0]) for i in (1, 2, 3) if i in a)


def describe(msg):
    a = attrs(msg[4:])  # after the nfgenmsg
    words = []
    tcp = attrs(attrs(a.get(CTA_PROTOINFO, b"")).get(1, b""))
    if 1 in tcp:
        words.append("state=%d" % tcp[1][0])
    if 4 in tcp and 5 in tcp:  # struct nf_ct_tcp_flags: flags, mask
        words.append("tcp_flags=%#x,%#x" % (tcp[4][0], tcp[5][0]))
    if CTA_STATUS in a:
        words.append("status=%#x" % struct.unpack("!I", a[CTA_STATUS])[0])
    words.append("mark=%d" % (struct.unpack("!I", a[CTA_MARK])[0] if CTA_MARK in a else 0))
    for key, kind in (("seqadj_orig", CTA_SEQ_ADJ_ORIG), ("seqadj_reply", CTA_SEQ_ADJ_REPLY),
                      ("synproxy", CTA_SYNPROXY)):
        if kind in a:
            words.append("%s=%s" % (key, triple(a[kind])))
    return " ".join(words)


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.settimeout(2)
    sock.send(request(argv[1], int(argv[2]), argv[3], int(argv[4])))
    found = False
    while True:
        data = sock.recv(65536)
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            if length < 16:
                return 1
            msg = data[off + 16:off + length]
            if kind == NLMSG_ERROR:
                err = struct.unpack_from("=i", msg)[0]
                if err:
                    sys.stderr.write("ct_show: %s\n" % os.strerror(-err))
                    return 1
                return 0 if found else 1
            if kind == CT_NEW:  # the entry comes as IPCTNL_MSG_CT_NEW
                print(describe(msg))
                found = True
            off += (length + 3) & ~3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
