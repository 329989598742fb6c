#!/usr/bin/env bash
# bench/plot.sh — the PNG plots of a bench/run.sh result (gnuplot, pngcairo).
#
#   bench/plot.sh BASE [TIMEOUT_MS=3000]
#
# Reads BASE-flood.tsv and BASE-legit.tsv (written by run.sh next to BASE.md) and writes
#   BASE-flood.png  answered SYN-ACKs per second against offered SYNs per second, one curve
#                   per system (synflood points; the hping3 point of each system as a cross)
#   BASE-legit.png  legitimate clients: p99 connect latency (log scale) and success % per
#                   system, without a flood and under each flood
# A p99 of "inf" (more than 1% of the connections failed) is drawn at TIMEOUT_MS.
# Needs gnuplot with the pngcairo terminal (Debian: apt-get install -y gnuplot-nox).
set -euo pipefail

base=${1:?usage: plot.sh BASE [TIMEOUT_MS]}
tmo=${2:-3000}
command -v gnuplot >/dev/null 2>&1 || { echo "plot.sh: gnuplot not found (apt-get install -y gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/bn-plot.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# ---------------------------------------------------------------- answered vs offered
if [ -s "$base-flood.tsv" ]; then
    mapfile -t systems < <(awk -F'\t' '!seen[$1]++ { print $1 }' "$base-flood.tsv")
    plots=() i=0
    maxv=$(awk -F'\t' '{ if ($4 > m) m = $4; if ($5 > m) m = $5 } END { print m / 1000 * 1.05 + 10 }' "$base-flood.tsv")
    for s in "${systems[@]}"; do
        i=$((i + 1))
        awk -F'\t' -v s="$s" '$1 == s && $2 == "synflood" { print $4 / 1000, $5 / 1000 }' "$base-flood.tsv" | sort -n >"$tmp/f$i.dat"
        awk -F'\t' -v s="$s" '$1 == s && $2 == "hping3" { print $4 / 1000, $5 / 1000 }' "$base-flood.tsv" >"$tmp/h$i.dat"
        [ -s "$tmp/f$i.dat" ] && plots+=("'$tmp/f$i.dat' using 1:2 with linespoints ls $i title '$s'")
        [ -s "$tmp/h$i.dat" ] && plots+=("'$tmp/h$i.dat' using 1:2 with points ls $i pt 2 ps 2.5 notitle")
    done
    plots+=("x with lines dt 2 lc rgb '#999999' title 'answer every SYN'")
    gnuplot <<EOF
set terminal pngcairo size 1100,700 font 'DejaVu Sans,12'
set output '$base-flood.png'
set title "SYN flood: SYN-ACKs answered vs SYNs offered (one router core)\n{/*0.8 lines: synflood at fixed rates; ✕: hping3 --flood --rand-source (its own max rate)}"
set xlabel 'offered SYNs per second (thousands)'
set ylabel 'answered SYN-ACKs per second (thousands)'
set grid
set key top left box opaque
set xrange [0:$maxv]
set yrange [0:*]
set style line 1 lc rgb '#1f77b4' lw 2 pt 7
set style line 2 lc rgb '#d62728' lw 3 pt 5
set style line 3 lc rgb '#2ca02c' lw 2 pt 9
set style line 4 lc rgb '#9467bd' lw 2 pt 11
set style line 5 lc rgb '#ff7f0e' lw 2 pt 13
set style line 6 lc rgb '#8c564b' lw 2 pt 6
set style line 7 lc rgb '#e377c2' lw 2 pt 4
set style line 8 lc rgb '#7f7f7f' lw 2 pt 8
plot $(IFS=,; echo "${plots[*]}")
EOF
    echo "$base-flood.png"
fi

# ---------------------------------------------------------------- legit clients
if [ -s "$base-legit.tsv" ]; then
    mapfile -t conds < <(awk -F'\t' '!seen[$2]++ { print $2 }' "$base-legit.tsv")
    # one line per system: name, then p99 / success per condition ("?" where missing)
    awk -F'\t' -v tmo="$tmo" -v conds="${conds[*]}" '
        { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
          p[$1, $2] = ($8 == "inf" ? tmo : $8); s[$1, $2] = $5 }
        END { m = split(conds, c, " ")
              for (i = 1; i <= n; i++) {
                  line = order[i]
                  for (j = 1; j <= m; j++) line = line "\t" (((order[i], c[j]) in p) ? p[order[i], c[j]] : "?")
                  for (j = 1; j <= m; j++) line = line "\t" (((order[i], c[j]) in s) ? s[order[i], c[j]] : "?")
                  print line } }' "$base-legit.tsv" >"$tmp/legit.dat"
    nc=${#conds[@]}
    colors=("#2ca02c" "#d62728" "#ff7f0e" "#9467bd" "#1f77b4")
    p99=() suc=()
    for ((j = 0; j < nc; j++)); do
        label=${conds[j]}
        [ "$label" = none ] && label='no flood'
        [ "$label" = hping ] && label='hping3 --flood'
        [[ $label == synflood:* ]] && label="synflood ${label#synflood:}/s"
        first=''; [ "$j" = 0 ] && first=':xtic(1)'
        p99+=("'$tmp/legit.dat' using $((j + 2))$first title '$label' lc rgb '${colors[j]}'")
        suc+=("'$tmp/legit.dat' using $((j + 2 + nc))$first title '$label' lc rgb '${colors[j]}'")
    done
    gnuplot <<EOF
set terminal pngcairo size 1250,900 font 'DejaVu Sans,12'
set output '$base-legit.png'
set datafile separator '\t'
set datafile missing '?'
set multiplot layout 2,1 title "Legitimate clients (one connection every 10 ms: connect, 1 byte, echo, close)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical box
set title 'p99 connect latency (ms, log scale; failures beyond 1% drawn at the $tmo ms timeout)'
set logscale y
set yrange [0.01:$((tmo * 4))]
set ytics ('0.01' 0.01, '0.1' 0.1, '1' 1, '10' 10, '100' 100, '1000' 1000, 'timeout' $tmo)
plot $(IFS=,; echo "${p99[*]}")
unset logscale y
set title 'success % (echo within the timeout)'
set yrange [0:115]
set ytics 0,20,100
plot $(IFS=,; echo "${suc[*]}")
unset multiplot
EOF
    echo "$base-legit.png"
fi
