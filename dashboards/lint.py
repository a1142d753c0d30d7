#!/usr/bin/env python3
"""Offline lint of the netobs dashboards: the rules of Grafana's
dashboard-linter that need no Grafana (template-datasource, template-job,
template-instance, panel-datasource, panel-title-description, panel-units,
panel-no-targets, target-promql, target-rate-interval, target-job,
target-instance, target-counter-agg), plus stable uids, tags and UTC.
target-promql is decided by Prometheus' own parser: every expression is
written into a rule file that `promtool check rules` loads.

  python3 dashboards/lint.py [--promtool PATH] [dashboard.json ...]
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
DATASOURCE_UID = "${datasource}"
RATE_FUNCTIONS = {"rate", "irate", "increase"}
COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")
AGGREGATORS = {"sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile", "stddev", "stdvar",
               "group", "count_values"}
KEYWORDS = AGGREGATORS | {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
            "offset", "inf", "nan"}
# What Grafana would put in place of the variables: valid PromQL values.
SUBSTITUTIONS = {"$__rate_interval": "1m", "$job": "netobs", "$instance": ".+"}


def dashboards(paths=None):
    files = [pathlib.Path(p) for p in paths] if paths else sorted(HERE.glob("*.json"))
    return [(f.name, json.loads(f.read_text())) for f in files]


def panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(dashboard):
    """(panel title, refId, expression) of every query of every panel."""
    for panel in panels(dashboard):
        for t in panel.get("targets", []):
            yield panel.get("title", ""), t.get("refId", ""), t.get("expr", "")


def substitute(expr):
    for name, value in SUBSTITUTIONS.items():
        expr = expr.replace(name, value)
    return expr


def analyse(expr):
    """Selectors (metric, matcher text), range windows (enclosing function,
    window) and the function enclosing each metric, from a small PromQL scan."""
    selectors, ranges, stack, i = [], [], [], 0
    pending = None  # metric name waiting for its {matchers}
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            end = expr.index(c, i + 1)
            i = end + 1
            continue
        if c == "{":
            end = expr.index("}", i)
            matchers = expr[i + 1:end]
            if pending is not None:
                selectors[pending] = (selectors[pending][0], matchers, selectors[pending][2])
            else:
                selectors.append(("", matchers, stack[-1] if stack else None))
            pending, i = None, end + 1
            continue
        if c == "[":
            end = expr.index("]", i)
            ranges.append((stack[-1] if stack else None, expr[i + 1:end]))
            i = end + 1
            continue
        if c == "(":
            stack.append(None)
        elif c == ")":
            stack.pop()
        m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", expr[i:])
        if m and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_.$")):
            name = m.group(0)
            j = i + len(name)
            rest = expr[j:].lstrip()
            if rest.startswith("("):
                if name in ("by", "without", "on", "ignoring", "group_left", "group_right"):
                    # a label list: skip it
                    i = j + (len(expr[j:]) - len(rest)) + rest.index(")") + 1
                    continue
                stack.append(name)
                i = j + (len(expr[j:]) - len(rest)) + 1
                continue
            if name.lower() not in KEYWORDS:
                selectors.append((name, None, stack[-1] if stack else None))
                pending = len(selectors) - 1
            i = j
            continue
        if not c.isspace():
            pending = None if c not in "{" else pending
        i += 1
    return selectors, ranges


def lint_expr(expr):
    problems = []
    try:
        selectors, ranges = analyse(expr)
    except (ValueError, IndexError):  # unbalanced brackets or quotes: promtool says where
        return ["target-promql: unbalanced brackets or quotes"]
    for metric, matchers, function in selectors:
        label = metric or "{...}"
        if matchers is None or 'job=~"$job"' not in matchers.replace(" ", ""):
            problems.append(f"target-job: {label} does not select job=~\"$job\"")
        if matchers is None or 'instance=~"$instance"' not in matchers.replace(" ", ""):
            problems.append(f"target-instance: {label} does not select instance=~\"$instance\"")
        if metric.endswith(COUNTER_SUFFIXES) and function not in RATE_FUNCTIONS:
            problems.append(f"target-counter-agg: counter {metric} is not inside rate/irate/increase")
    for function, window in ranges:
        if function in RATE_FUNCTIONS and window != "$__rate_interval":
            problems.append(f"target-rate-interval: {function}(...[{window}]) should use $__rate_interval")
    if not selectors:
        problems.append("target-promql: no series selector")
    return problems


def lint_dashboard(name, d):
    problems = []
    if not d.get("uid") or not re.fullmatch(r"[a-z0-9-]{1,40}", d["uid"]):
        problems.append("uid: missing or not a stable lower-case id")
    if not d.get("tags"):
        problems.append("tags: none")
    if d.get("timezone") != "utc":
        problems.append("timezone: not utc")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("template-datasource: no variable 'datasource' of type datasource (prometheus)")
    for var in ("job", "instance"):
        v = variables.get(var)
        if not v or v.get("type") != "query" or (v.get("datasource") or {}).get("uid") != DATASOURCE_UID:
            problems.append(f"template-{var}: no query variable '{var}' using ${{datasource}}")
        elif not v.get("multi") and var == "instance" or not v.get("includeAll") and var == "instance":
            problems.append("template-instance: must allow multiple values and All")
    text = json.dumps(d)
    if re.search(r'"uid": "(?!\$\{datasource\}|' + re.escape(d.get("uid", "")) + r'")[^"]*"', text):
        problems.append("panel-datasource: a hard-coded datasource uid")
    for panel in panels(d):
        where = f"panel {panel.get('id')} '{panel.get('title', '')}'"
        if panel.get("type") == "row":
            continue
        if not panel.get("title") or not panel.get("description"):
            problems.append(f"panel-title-description: {where}")
        if (panel.get("datasource") or {}).get("uid") != DATASOURCE_UID:
            problems.append(f"panel-datasource: {where} does not use ${{datasource}}")
        if not (panel.get("fieldConfig", {}).get("defaults", {}).get("unit")):
            problems.append(f"panel-units: {where} has no unit")
        if not panel.get("targets"):
            problems.append(f"panel-no-targets: {where}")
        for t in panel.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != DATASOURCE_UID:
                problems.append(f"panel-datasource: {where} target {t.get('refId')} does not use ${{datasource}}")
            for p in lint_expr(t.get("expr", "")):
                problems.append(f"{where} target {t.get('refId')}: {p}")
    return [f"{name}: {p}" for p in problems]


def check_promql(all_targets, promtool):
    """Every expression through Prometheus' parser (promtool check rules)."""
    lines = ["groups:", "  - name: dashboard_queries", "    rules:"]
    for index, (_, _, _, expr) in enumerate(all_targets):
        lines.append(f"      - record: dashboard_query_{index}")
        lines.append("        expr: |-")
        lines += ["          " + line for line in substitute(expr).split("\n")]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    result = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    pathlib.Path(f.name).unlink()
    if result.returncode == 0:
        return []
    problems = []
    for m in re.finditer(r"(\d+):\d+: group \"dashboard_queries\", rule (\d+), .*?: (.*)", result.stdout + result.stderr):
        dash, title, ref, _ = all_targets[int(m.group(2)) - 1]
        problems.append(f"{dash}: panel '{title}' target {ref}: target-promql: {m.group(3)}")
    return problems or [f"target-promql: promtool failed: {result.stdout}{result.stderr}"]


def main(argv):
    promtool = "promtool"
    if "--promtool" in argv:
        promtool = argv[argv.index("--promtool") + 1]
        del argv[argv.index("--promtool"):argv.index("--promtool") + 2]
    problems, all_targets = [], []
    loaded = dashboards(argv)
    uids = [d.get("uid") for _, d in loaded]
    if len(set(uids)) != len(uids):
        problems.append("uid: two dashboards share a uid")
    for name, d in loaded:
        problems += lint_dashboard(name, d)
        all_targets += [(name, title, ref, expr) for title, ref, expr in targets(d)]
    problems += check_promql(all_targets, promtool)
    for p in problems:
        print(p)
    print(f"{len(loaded)} dashboards, {len(all_targets)} queries, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
