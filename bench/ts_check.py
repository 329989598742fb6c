#!/usr/bin/env python3
"""ts_check.py CLIENT_PCAP_TXT SERVER_PCAP_TXT CLIENT_ADDR SERVER_ADDR PORT

Checks TCP timestamps of one connection seen on both sides of syngate, from
`tcpdump -nn -v -tt` text.  Prints what it found and exits 0 when:
  - the client's SYN and the SYN-ACK it got carry TS, and the SYN-ACK's TSecr
    echoes the SYN's TSval;
  - every later server->client segment at the client carries TS, with TSval =
    (some TSval the backend sent) - tsoff, tsoff = backend SYN-ACK TSval - its;
  - every client->server segment at the server carries TS, with TSecr = 0 or
    a TSval the backend sent (its own space).
Exit 1 otherwise, 2 on bad input.
"""
import re
import sys

LINE = re.compile(r'(\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\]')
TS = re.compile(r'TS val (\d+) ecr (\d+)')


def segments(path, port):
    """(src, sport, dst, dport, flags, tsval|None, tsecr|None) per TCP line."""
    out = []
    with open(path) as f:
        for raw in f:
            m = LINE.search(raw)
            if not m:
                continue
            src, sp, dst, dp, flags = m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), m.group(5)
            if port not in (sp, dp):
                continue
            t = TS.search(raw)
            out.append((src, sp, dst, dp, flags,
                        int(t.group(1)) if t else None, int(t.group(2)) if t else None))
    return out


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    cpath, spath, cli, srv, port = sys.argv[1:6]
    port = int(port)
    cs, ss = segments(cpath, port), segments(spath, port)
    bad = 0

    def check(ok, what):
        nonlocal bad
        print(('ok   ' if ok else 'FAIL ') + what)
        if not ok:
            bad += 1

    csyn = [s for s in cs if s[0] == cli and s[4] == 'S']
    csa = [s for s in cs if s[0] == srv and s[4] == 'S.']
    ssa = [s for s in ss if s[0] == srv and s[4] == 'S.']
    if not csyn or not csa or not ssa:
        print('no handshake found (client SYN %d, client-side SYN-ACK %d, server-side SYN-ACK %d)'
              % (len(csyn), len(csa), len(ssa)))
        return 2
    syn, synack, bsynack = csyn[0], csa[0], ssa[0]
    check(syn[5] is not None, 'client SYN carries TS (val %s)' % syn[5])
    check(synack[5] is not None, 'cookie SYN-ACK carries TS (its = val %s, ecr %s)' % (synack[5], synack[6]))
    check(synack[6] == syn[5], 'cookie SYN-ACK echoes the SYN TSval')
    check(bsynack[5] is not None, 'backend SYN-ACK carries TS (val %s)' % bsynack[5])
    if bad:
        return 1
    its = synack[5]
    tsoff = (bsynack[5] - its) & 0xffffffff
    print('its %d, backend ISN-time TSval %d, tsoff %d' % (its, bsynack[5], tsoff))
    backend_vals = {s[5] for s in ss if s[0] == srv and s[5] is not None}
    c_from_srv = [s for s in cs if s[0] == srv and s[4] != 'S.']
    s_from_cli = [s for s in ss if s[0] == cli and s[4] != 'S']
    missing = [s for s in c_from_srv if s[5] is None and 'R' not in s[4]]
    check(not missing, '%d server->client segments at the client, %d without TS'
          % (len(c_from_srv), len(missing)))
    wrong = [s for s in c_from_srv
             if s[5] is not None and ((s[5] + tsoff) & 0xffffffff) not in backend_vals]
    check(not wrong, 'server->client TSval at the client = backend TSval - tsoff (%d wrong%s)'
          % (len(wrong), ', first: %s' % (wrong[0],) if wrong else ''))
    missing = [s for s in s_from_cli if s[5] is None and 'R' not in s[4]]
    check(not missing, '%d client->server segments at the server, %d without TS'
          % (len(s_from_cli), len(missing)))
    wrong = [s for s in s_from_cli if s[6] is not None and s[6] != 0 and s[6] not in backend_vals]
    check(not wrong, 'client->server TSecr at the server = a backend TSval (%d wrong%s)'
          % (len(wrong), ', first: %s' % (wrong[0],) if wrong else ''))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
