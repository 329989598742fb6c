# bench/targets.awk — the "targets" tables of bench/results/latest.md, computed from one run.
#
#   awk -F'\t' -v shed=RATE -v tmo_ms=MS -v ab_runs=N -f bench/targets.awk ROWS.tsv
#
# Input: run.sh's result rows, each prefixed with a tag column:
#   F  flood:    system gen target offered answered pct busy us qdrop rxdrop
#   L  legit:    system cond flood_pps attempts success p50 p90 p99 echo_p99 busy failures
#   C  connrate: system rate failed avg_ms max_ms busy kinds            (connrate's own server)
#   B  bulk:     system dir gbit retr busy
#   W  wrk:      system cond flood_pps requests conn_s errors busy router_us daemon_us kinds
#   A  ab:       system runs clean with_failures hung other_errors failed completed mean_rps min_rps
#   N  connrate against nginx: system rate failed avg_ms max_ms busy refused/reset/timeout/other/open
# shed: syngate's shed-rate as configured (empty = the default 100000, 0 = off).
# Output (markdown):
#   "Targets: default options" — every target for `syngate` (no options beyond what any SYN
#     proxy in front of this backend needs), | target | measured | ratio | verdict | why |,
#     then the earlier issue's targets for it;
#   "Targets: every variant" — the same targets, met / missed, one column per syngate system
#     of the run (syngate, syngate-noxdp, syngate-xdp, syngate-adaptive, ...).
# The targets are the benchmark issues' (bench/README.md, "Targets").

function num(x) { return x == "inf" ? 1e18 : x + 0 }
function fmt(x) { return x >= 1e17 ? "∞" : sprintf("%.2f", x) }
function k(x) { return x >= 1e17 ? "∞" : (x >= 10000 ? sprintf("%.0fk", x / 1000) : sprintf("%.0f", x)) }
function ms(x) { return x == "inf" ? "∞ (>" tmo " ms: failures)" : x " ms" }
function row(t, m, r, v, w) { printf "| %s | %s | %s | %s | %s |\n", t, m, r, v, w }
function verdict(ok) { return ok ? "**met**" : "**missed**" }
function bar(r, b) { return r >= b ? sprintf("%.2f× above the bar", r - b) : sprintf("short by %.2f×", b - r) }
# effective shed rate: hashlimit keeps whole microseconds per packet, syngate rounds up
function eff_shed(r,   us) { if (r == "") r = 100000; if (r + 0 == 0) return 0; us = int(1000000 / r); if (us * r < 1000000) us++; return int(1000000 / us) }
function syn_flood(c) { return c == "hping" || c ~ /^synflood:/ }
function ack_flood(c) { return c == "hping-ack" || c ~ /^synflood-ack:/ }
# the systems whose every SYN and ACK goes through the queue (and its shed rule): since xdp =
# auto became the default, syngate and syngate-adaptive run the XDP fast path too
function queue_path(s) { return s ~ /noxdp/ }

$1 == "F" && $3 == "synflood" {
    s = $2
    if ($6 + 0 > peak[s]) { peak[s] = $6 + 0; peak_off[s] = $5 + 0; peak_busy[s] = $8 + 0; peak_pct[s] = $7 + 0 }
    n[s]++; off[s, n[s]] = $5 + 0; ans[s, n[s]] = $6 + 0; pct[s, n[s]] = $7 + 0
    if ($5 + 0 > maxoff[s]) { maxoff[s] = $5 + 0; maxoff_pct[s] = $7 + 0 }
    seen[s] = 1
}
$1 == "L" {
    L[$2, $3] = 1; succ[$2, $3] = $6; p99[$2, $3] = $9; fpps[$2, $3] = $4; fails[$2, $3] = $12; att[$2, $3] = $5
    if ($3 != "none" && !(($3) in lc_seen)) { lc_seen[$3] = 1; lconds[++nlc] = $3 }
    seen[$2] = 1
}
$1 == "C" { conn[$2] = $3 + 0; seen[$2] = 1 }
$1 == "B" && $3 == "c2s" { bulk[$2] = $4 + 0; seen[$2] = 1 }
$1 == "W" { W[$2, $3] = 1; wrate[$2, $3] = $6 + 0; werr[$2, $3] = $7 + 0; wkinds[$2, $3] = $11; wfpps[$2, $3] = $4; seen[$2] = 1 }
$1 == "A" { A[$2] = 1; aruns[$2] = $3; aclean[$2] = $4; ahung[$2] = $6 + 0; aerr[$2] = $7 + 0; afail[$2] = $8 + 0; arps[$2] = $10; seen[$2] = 1 }
$1 == "N" { N[$2] = 1; nrate[$2] = $3 + 0; nfail[$2] = $4 + 0; split($8, nk, "/"); nreset[$2] = nk[2] + 0; nkinds[$2] = $8; seen[$2] = 1 }

# T SYS KEY NAME MEASURED RATIO OK WHY : one target of SYS (OK 1 met, 0 missed); KEY names
# the target across systems (the variant table's rows, in order of first use)
function T(s, key, name, m, r, ok, why) {
    if (!(key in tkey_seen)) { tkey_seen[key] = 1; tkeys[++ntk] = key; tname[key] = name }
    tn[s]++; tk[s, tn[s]] = key; tm[s, tn[s]] = m; tr[s, tn[s]] = r; tok[s, tn[s]] = ok; tw[s, tn[s]] = why
    cell[s, key] = (r != "–" ? r " " : "") (ok ? "met" : "**missed**")
}

function legit_targets(s,   i, c, ok, r, a, b, why, f, nf) {
    if (!((s, "none") in L)) return
    for (i = 1; i <= nlc; i++) {
        c = lconds[i]
        if (!((s, c) in L)) continue
        a = num(p99[s, c]); b = num(p99[s, "none"]); r = (b > 0 && a < 1e17) ? a / b : 1e18
        ok = succ[s, c] + 0 >= 100 && r <= 2
        split(fails[s, c], f, "/")
        nf = int(att[s, c] * (100 - succ[s, c]) / 100 + 0.5)
        why = succ[s, c] + 0 >= 100 ? "all " att[s, c] " connections echoed" : sprintf("%d of %d failed (timeout %d, refused %d, reset %d, no echo %d, other %d)", nf, att[s, c], f[1], f[2], f[3], f[4], f[5])
        if (r > 2) why = why "; " (a >= 1e17 ? "more than 1% failed, so p99 is a failure" : sprintf("p99 %.1f× over the bound (%s ms vs %s ms allowed)", r / 2, p99[s, c], 2 * b))
        if (r > 2 && a < 1e17 && a >= 900) why = why "; a p99 near 1 s or 3 s is a SYN retransmission: some legitimate SYNs were dropped"
        if (r <= 2 && b >= 900 && b < 1e17)
            why = why sprintf("; but the no-flood p99 (%s ms) is itself a SYN retransmission, so the 2× bound is loose here (SYNPROXY's no-flood p99: %s)", p99[s, "none"], (("synproxy", "none") in L) ? ms(p99["synproxy", "none"]) : "not measured")
        if (es && syn_flood(c) && queue_path(s)) {
            if (fpps[s, c] > es && !ok)
                why = why sprintf("; the flood (%s/s) is above shed-rate %s/s: the shed rule drops a legitimate SYN as readily as a flood SYN (≈%.0f%% of them), retried after 1 s, 3 s", k(fpps[s, c]), es, 100 * (1 - es / fpps[s, c]))
            if (fpps[s, c] < es && ok)
                why = why sprintf("; the flood (%s/s) is below shed-rate %s/s: no SYN was shed", k(fpps[s, c]), es)
        }
        if (ack_flood(c) && !ok && queue_path(s))
            why = why "; ACKs are not shed: every flood ACK is queued to the daemon with the legitimate handshake ACKs"
        T(s, "legit:" c, "legit under " c ": 100% success and p99 ≤ 2× no-flood",
          sprintf("%s%% of %s (flood %s/s); p99 %s vs %s", succ[s, c], att[s, c], k(fpps[s, c]), ms(p99[s, c]), ms(p99[s, "none"])),
          fmt(r) "×", ok, why)
        cell[s, "legit:" c] = sprintf("%g%%, p99 %s× %s", succ[s, c], fmt(r), ok ? "met" : "**missed**")
    }
}

function wrk_target(s, c, name,   r, ok, why) {
    if (!((s, c) in W) || !(("synproxy", c) in W)) return
    r = wrate["synproxy", c] ? wrate[s, c] / wrate["synproxy", c] : 0
    ok = r >= 1 && werr[s, c] == 0
    why = bar(r, 1)
    if (werr[s, c]) why = why sprintf("; %d errors (connect/read/write/timeout/non-2xx %s)", werr[s, c], wkinds[s, c])
    if (werr["synproxy", c]) why = why sprintf("; SYNPROXY had %d errors", werr["synproxy", c])
    T(s, "wrk:" c, name, sprintf("%s %s/s, %d errors; SYNPROXY %s/s%s", s, k(wrate[s, c]), werr[s, c], k(wrate["synproxy", c]), c != "none" ? " (flood " k(wfpps[s, c]) "/s)" : ""),
      fmt(r) "×", ok, why)
}

function targets(s,   r, why, ok) {
    legit_targets(s)
    wrk_target(s, "hping", "nginx + wrk new conn/s under hping3 ≥ 1.0× SYNPROXY, 0 errors")
    wrk_target(s, "none", "nginx + wrk new conn/s, no flood ≥ 1.0× SYNPROXY, 0 errors")
    if (s in A) {
        ok = afail[s] == 0 && ahung[s] == 0 && aerr[s] == 0
        why = ok ? "all " aruns[s] " runs clean" : sprintf("%d failed requests, %d hung runs, %d runs with other errors, of %d", afail[s], ahung[s], aerr[s], aruns[s])
        if (ahung[s]) why = why "; a hung run is a connection that got no response for 5 s: the client believed it connected"
        T(s, "ab", "ab -n 5000 -c 64: 0 failed, 0 hung over " aruns[s] " runs",
          sprintf("%d failed, %d hung, %d other errors; %s req/s", afail[s], ahung[s], aerr[s], arps[s]), "–", ok, why)
    }
    if ((s in N) && ("synproxy" in N)) {
        r = nrate["synproxy"] ? nrate[s] / nrate["synproxy"] : 0
        ok = r >= 1 && nreset[s] == 0
        why = bar(r, 1)
        if (nreset[s]) why = why "; " nreset[s] " connections reset before the response"
        if (nfail[s] > nreset[s]) why = why sprintf("; %d failed in all (refused/reset/timeout/other/open %s)", nfail[s], nkinds[s])
        T(s, "webconn", "connrate -n 64 against nginx: 0 resets, ≥ 1.0× SYNPROXY",
          sprintf("%s %s/s, %d resets; SYNPROXY %s/s", s, k(nrate[s]), nreset[s], k(nrate["synproxy"])), fmt(r) "×", ok, why)
    }
    if ((s in peak) && ("synproxy" in peak)) {
        r = peak[s] / peak["synproxy"]
        why = r < 1.3 ? sprintf("short by %.2f× (needs %s/s more)", 1.3 - r, k(1.3 * peak["synproxy"] - peak[s])) : bar(r, 1.3)
        if (queue_path(s) && es && peak[s] >= 0.95 * es && peak[s] <= 1.02 * es)
            why = why "; the peak is the shed-rate (" es "/s let into the queue; the rest dropped before it)"
        if (queue_path(s) && ("null-reflect" in peak) && peak["null-reflect"] <= 1.05 * peak[s])
            why = why "; the null NFQUEUE daemon on the same path peaks at " k(peak["null-reflect"]) "/s too: the queue path and the shed rule set this ceiling, not syngate's own code"
        if (maxoff_pct["synproxy"] >= 99)
            why = why "; SYNPROXY answered 100% of the largest offered rate (" k(maxoff["synproxy"]) "/s): the generator, not SYNPROXY, was its limit"
        T(s, "capacity", "SYN capacity per core ≥ 1.3× SYNPROXY (peak answered SYN-ACK/s, one router core)",
          s " " k(peak[s]) "/s (at " k(peak_off[s]) " offered, core " peak_busy[s] "% busy); SYNPROXY " k(peak["synproxy"]) "/s (" peak_busy["synproxy"] "% busy)",
          fmt(r) "×", r >= 1.3, why)
    }
    if ((s in bulk) && ("synproxy" in bulk)) {
        r = bulk["synproxy"] ? bulk[s] / bulk["synproxy"] : 0
        T(s, "bulk", "bulk ≥ 0.95× SYNPROXY (iperf3, one stream)", sprintf("%s %.2f Gbit/s, SYNPROXY %.2f Gbit/s", s, bulk[s], bulk["synproxy"]),
          fmt(r) "×", r >= 0.95, bar(r, 0.95))
    }
}

# the earlier issue's targets, still reported for the default options; the one against the
# null NFQUEUE daemon is about the queue path: syngate-noxdp's when the run has it
function earlier_rows(s,   q, r, why, S, best, bd, i, m) {
    q = ("syngate-noxdp" in peak) ? "syngate-noxdp" : s
    if ((q in peak) && ("null-reflect" in peak)) {
        r = peak[q] / peak["null-reflect"]
        why = r >= 0.9 ? bar(r, 0.9) : sprintf("short by %.2f× (%s/s)", 0.9 - r, k(0.9 * peak["null-reflect"] - peak[q]))
        if (es) why = why "; both behind the same shed rule (" es "/s), so this compares syngate's per-SYN cost only below it"
        row("(earlier) capacity per core ≥ 0.9× null NFQUEUE daemon (null-reflect; " q ")",
            q " " k(peak[q]) "/s; null-reflect " k(peak["null-reflect"]) "/s", fmt(r) "×", verdict(r >= 0.9), why)
    }
    if (s in peak) {
        S = peak[s]; best = 0; bd = 1e9
        for (i = 1; i <= n[s]; i++) {
            m = off[s, i] / S
            if (m >= 2.5 && m <= 4 && (m - 3) ^ 2 < bd) { bd = (m - 3) ^ 2; best = i }
        }
        if (best) {
            m = off[s, best] / S; r = ans[s, best] / S
            row("(earlier) answered at 3× saturation ≥ 0.9× peak",
                sprintf("%s/s answered at %s offered (%.1f× the %s/s peak)", k(ans[s, best]), k(off[s, best]), m, k(S)),
                fmt(r) "×", verdict(r >= 0.9), r >= 0.9 ? bar(r, 0.9) : sprintf("short by %.2f× (%s/s)", 0.9 - r, k(0.9 * S - ans[s, best])))
        } else if (maxoff_pct[s] >= 99)
            row("(earlier) answered at 3× saturation ≥ 0.9× peak", "never saturated: " maxoff_pct[s] "% of the largest offered rate (" k(maxoff[s]) "/s, the generator's maximum) answered", "–", "**met** (no collapse)", "its capacity is above what this machine's generator offers")
        else
            row("(earlier) answered at 3× saturation ≥ 0.9× peak", "no offered rate within 2.5–4× of the peak " k(S) "/s (add one to BN_RATES)", "–", "not measured", "")
    }
    if ((s in conn) && ("synproxy" in conn)) {
        r = conn["synproxy"] ? conn[s] / conn["synproxy"] : 0
        row("(earlier) connection rate ≥ 0.5× SYNPROXY (connrate's own server, no flood)", sprintf("%s %d/s, SYNPROXY %d/s", s, conn[s], conn["synproxy"]),
            fmt(r) "×", verdict(r >= 0.5), bar(r, 0.5))
    }
}

END {
    tmo = tmo_ms != "" ? tmo_ms : 3000
    es = eff_shed(shed)
    nv = split("syngate syngate-noxdp syngate-xdp syngate-adaptive syngate-xdp-adaptive", cand, " ")
    for (j = 1; j <= nv; j++) if (cand[j] in seen) { targets(cand[j]); vs[++nvs] = cand[j] }
    print "## Targets: default options (`syngate`, from this run)"
    print ""
    if (!("syngate" in seen)) print "No row of the default `syngate` in this run."
    else {
        print "| target | measured | ratio | verdict | by how much / why |"
        print "|---|---|---:|---|---|"
        for (i = 1; i <= tn["syngate"]; i++)
            row(tname[tk["syngate", i]], tm["syngate", i], tr["syngate", i], verdict(tok["syngate", i]), tw["syngate", i])
        earlier_rows("syngate")
    }
    if (nvs < 2 || !ntk) exit
    print ""
    print "## Targets: every variant (ratio to SYNPROXY; legit: success and p99 / no-flood p99; met / missed)"
    print ""
    h = "| target |"; u = "|---|"
    for (j = 1; j <= nvs; j++) { h = h " " vs[j] " |"; u = u "---|" }
    print h; print u
    for (i = 1; i <= ntk; i++) {
        line = "| " tname[tkeys[i]] " |"
        for (j = 1; j <= nvs; j++) line = line " " ((vs[j], tkeys[i]) in cell ? cell[vs[j], tkeys[i]] : "–") " |"
        print line
    }
}
