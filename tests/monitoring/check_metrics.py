#!/usr/bin/env python3
"""Checks of syngate's /metrics page and of what reads it.

  check_metrics.py partitions PAGE
      Every labelled family whose HELP says "... sum to TOTAL." sums to TOTAL's
      value; every one-of family (HELP "1 for the active one") has exactly one
      sample at 1 and the rest at 0.  PAGE: a scrape, or "-" for stdin.

  check_metrics.py names PAGE FILE...
      Every metric name the Grafana dashboards (.json: each target's "expr") and
      Prometheus rule files (.yml: each "expr:") use is one PAGE exports.
      The JSON must parse, and each dashboard must use a datasource variable.

  check_metrics.py rules-of DASHBOARD
      Prints a Prometheus rule file with each of the dashboard's expressions as a
      recording rule (Grafana's $__rate_interval as 5m, $instance as .*), for
      `promtool check rules` to parse them.

Exit 0 when all hold, 1 with the failures on stderr.
"""
import json
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
NAME = re.compile(r'\b((?:syngate|process)_[a-z0-9_]+)\b')


def read_page(path):
    text = sys.stdin.read() if path == '-' else open(path).read()
    samples, helps = [], {}
    for line in text.splitlines():
        if line.startswith('# HELP '):
            name, _, help_ = line[7:].partition(' ')
            helps[name] = help_
        elif line and not line.startswith('#'):
            m = SAMPLE.match(line)
            if m:
                samples.append((m.group(1), m.group(2) or '', float(m.group(3))))
    return samples, helps


def partitions(path):
    samples, helps = read_page(path)
    bad, checked = [], 0
    for family, help_ in helps.items():
        m = re.search(r' sum to ([a-z0-9_]+)\.', help_)
        if m:
            parts = [v for n, lab, v in samples if n == family and lab]
            total = [v for n, lab, v in samples if n == m.group(1) and not lab]
            if not total:
                bad.append(f'{family}: its total {m.group(1)} is not exported')
            elif len(parts) < 2 or sum(parts) != total[0]:
                bad.append(f'{family}: {len(parts)} parts sum to {sum(parts):.0f}, '
                           f'{m.group(1)} is {total[0]:.0f}')
            else:
                print(f'ok: {family} sums to {m.group(1)} = {total[0]:.0f}')
            checked += 1
        if '1 for the active one' in help_:
            values = [v for n, lab, v in samples if n == family]
            if sorted(values)[-1:] != [1.0] or sum(values) != 1:
                bad.append(f'{family}: one-of family with values {values}')
            else:
                print(f'ok: {family} has one active value')
            checked += 1
    if not checked:
        bad.append('no breakdown found to check')
    return bad


def exprs_of(path):
    """The PromQL expressions of a dashboard (JSON) or a rule file (YAML)."""
    text = open(path).read()
    if path.endswith('.json'):
        dash = json.loads(text)  # raises on invalid JSON
        found = []

        def walk(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ('expr', 'definition') and isinstance(v, str):
                        found.append(v)
                    else:
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(dash)
        return found, dash
    # rule files: "expr: ..." on one line, or a block scalar ("expr: |") below it
    found, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'^(\s*)-?\s*expr:\s*(.*)$', line)
        if not m:
            continue
        if m.group(2).strip() in ('|', '>', '|-', '>-'):
            indent, block = None, []
            for nxt in lines[i + 1:]:
                if not nxt.strip():
                    continue
                ind = len(nxt) - len(nxt.lstrip())
                if indent is None:
                    indent = ind
                if ind < indent or ind <= len(m.group(1)):
                    break
                block.append(nxt.strip())
            found.append(' '.join(block))
        else:
            found.append(m.group(2).strip().strip('\'"'))
    return found, None


def names(page, files):
    samples, _ = read_page(page)
    exported = {n for n, _, _ in samples}
    bad = []
    for path in files:
        exprs, dash = exprs_of(path)
        if not exprs:
            bad.append(f'{path}: no expressions found')
        if dash is not None:
            ds = [v for v in dash.get('templating', {}).get('list', [])
                  if v.get('type') == 'datasource']
            if not ds:
                bad.append(f'{path}: no datasource variable')
        used = set()
        for e in exprs:
            used.update(NAME.findall(e))
        for n in sorted(used):  # a histogram's samples are named _bucket, _sum, _count
            if n not in exported:
                bad.append(f'{path}: {n} is not a metric syngate exports')
        print(f'{path}: {len(exprs)} expressions, {len(used)} metric names')
    return bad


def rules_of(path):
    exprs, _ = exprs_of(path)
    print('groups:\n  - name: dashboard\n    rules:')
    for i, e in enumerate(exprs):
        if e.startswith('label_values('):
            continue  # a template variable's query, not PromQL
        e = e.replace('$__rate_interval', '5m').replace('$instance', '.*')
        print(f'      - record: dashboard_expr_{i}\n        expr: {json.dumps(e)}')
    return []


def main(argv):
    if len(argv) >= 3 and argv[1] == 'partitions':
        bad = partitions(argv[2])
    elif len(argv) == 3 and argv[1] == 'rules-of':
        bad = rules_of(argv[2])
    elif len(argv) >= 4 and argv[1] == 'names':
        bad = names(argv[2], argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for b in bad:
        print('FAIL: ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
