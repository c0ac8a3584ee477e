#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into a plain table, a Markdown table and a JSON file.

usage: report.py RESULTS.tsv META.json OUT.json TOOL...
RESULTS.tsv lines: run <TAB> tool <TAB> key <TAB> value.
Figures are medians over runs; ratios are tool/restic (lower is better for every row).
Units: MB = 10^6 bytes, GB = 10^9 bytes; peak RSS is converted from KiB to MB the same way.
"""
import json
import statistics
import sys


def num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return int(f) if f.is_integer() and "." not in str(v) else f


def load(path):
    runs = {}  # tool -> run -> {key: value}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        run, tool, key, val = parts
        if key == "stats_json":  # the tool's own `stats --json` output, kept as is
            try:
                v = json.loads(val)
            except ValueError:
                v = val
        elif key.endswith(("snapshot_id", "version", "verify")):
            v = val
        else:
            v = num(val)
        runs.setdefault(tool, {}).setdefault(int(run), {})[key] = v
    for per_tool in runs.values():
        for r in per_tool.values():
            rss = [r.get("s2.backup_rss_kb"), r.get("s3.backup_rss_kb")]
            rss = [v for v in rss if isinstance(v, (int, float))]
            if rss:
                r["incr.backup_rss_kb"] = max(rss)
    return runs


def median(values):
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        strs = [v for v in values if v not in (None, "")]
        if not strs:
            return None
        # verification results: "ok" only if every run was ok
        if all(s == "ok" for s in strs):
            return "ok"
        return "FAILED" if "FAILED" in strs else strs[-1]
    return statistics.median(vals)


def mb(b):
    return b / 1e6


def fmt_bytes(b):
    if b is None:
        return "-"
    if abs(b) >= 1e9:
        return "%.2f GB" % (b / 1e9)
    if abs(b) >= 1e6:
        return "%.0f MB" % mb(b) if abs(b) >= 100e6 else "%.1f MB" % mb(b)
    return "%.0f kB" % (b / 1e3)


def fmt_s(s):
    return "-" if s is None else ("%.1f s" % s if s >= 1 else "%.2f s" % s)


def fmt_rss(kb):
    return "-" if kb is None else "%.0f MB" % (kb * 1024 / 1e6)


def main():
    res_path, meta_path, out_path, *tools = sys.argv[1:]
    runs = load(res_path)
    meta = json.load(open(meta_path))
    tools = [t for t in tools if t in runs]
    med = {}
    for t in tools:
        keys = sorted({k for r in runs[t].values() for k in r})
        med[t] = {k: median([r.get(k) for r in runs[t].values()]) for k in keys
                  if k != "stats_json" and not k.endswith("snapshot_id")}

    def g(t, k):
        return med[t].get(k)

    def changed(t, s):
        a, b = g(t, f"s{s}.changed_tree_bytes"), g(t, f"s{s}.changed_img_bytes")
        if a is None:
            return None
        return a + ((b or 0) if meta["options"]["with_image"] else 0)

    ref = tools[0] if tools else None
    logical = (g(ref, "s1.source_bytes") or 0) + (g(ref, "s2.source_bytes") or 0) + (g(ref, "s3.source_bytes") or 0)
    src1 = g(ref, "s1.source_bytes") or 0
    ch2, ch3 = changed(ref, 2), changed(ref, 3)

    # (label, key, kind); kind decides formatting and extra info
    rows = [
        (f"initial backup (s1, {fmt_bytes(src1)}), time", "s1.backup_s", "time_tp", "s1.source_bytes"),
        ("initial backup (s1), CPU time (user + system)", "s1.backup_cpu_s", "time", None),
        ("initial backup (s1), peak RSS", "s1.backup_rss_kb", "rss", None),
        (f"backup after 2% change (s2), time", "s2.backup_s", "time", None),
        (f"backup after 2% change (s3), time", "s3.backup_s", "time", None),
        ("backup after 2% change (s2, s3), peak RSS", "incr.backup_rss_kb", "rss", None),
        ("bytes added by s1", "s1.added_bytes", "bytes", None),
        (f"bytes added by s2 ({fmt_bytes(ch2)} changed)", "s2.added_bytes", "added", 2),
        (f"bytes added by s3 ({fmt_bytes(ch3)} changed)", "s3.added_bytes", "added", 3),
        (f"repository after 3 snapshots ({fmt_bytes(logical)} logical)", "repo_final_bytes", "bytes", None),
        ("restore latest (s3), time", "restore_latest.s", "time_tp", "restore_latest.bytes"),
        ("restore latest (s3), CPU time (user + system)", "restore_latest.cpu_s", "time", None),
        ("restore latest (s3), peak RSS", "restore_latest.rss_kb", "rss", None),
        ("restore first (s1), time", "restore_first.s", "time_tp", "restore_first.bytes"),
        ("restore first (s1), peak RSS", "restore_first.rss_kb", "rss", None),
        ("restores verified byte for byte", None, "verify", None),
    ]
    others = [t for t in tools if t != "restic"] if "restic" in tools else []

    def cell(t, key, kind, extra):
        v = g(t, key) if key else None
        if kind == "time":
            return fmt_s(v)
        if kind == "time_tp":
            b = g(t, extra)
            tp = " (%.0f MB/s)" % (mb(b) / v) if v and b else ""
            return fmt_s(v) + tp
        if kind == "rss":
            return fmt_rss(v)
        if kind == "bytes":
            return fmt_bytes(v)
        if kind == "added":
            c = changed(t, extra)
            return fmt_bytes(v) + (" (%.1f× the change)" % (v / c) if v is not None and c else "")
        if kind == "verify":
            a, b = g(t, "restore_latest.verify"), g(t, "restore_first.verify")
            return f"latest {a or '-'}, first {b or '-'}"
        return str(v)

    def ratio(t, key, kind):
        if not key or kind == "verify":
            return None
        a, b = g(t, key), g("restic", key)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b == 0:
            return None
        return a / b

    table = []
    for label, key, kind, extra in rows:
        r = {"metric": label, "key": key}
        for t in tools:
            r[t] = cell(t, key, kind, extra)
        for t in others:
            q = ratio(t, key, kind)
            r[f"{t}/restic"] = None if q is None else round(q, 3)
        table.append(r)

    cols = ["metric"] + tools + [f"{t}/restic" for t in others]

    def show(r, c):
        v = r.get(c)
        if c.endswith("/restic"):
            return "-" if v is None else "%.2f×" % v
        return "-" if v is None else str(v)

    # plain table
    widths = [max(len(c), *(len(show(r, c)) for r in table)) for c in cols]
    print()
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print("  ".join(show(r, c).ljust(w) for c, w in zip(cols, widths)))

    def vlabel(t):
        v = " ".join(str(g(t, "version") or "").split()[:2])
        return v if v.startswith(t) else f"{t} {v}"

    # markdown
    m = meta
    print()
    tv = []
    for t in tools:
        if t == "strata":
            tv.append(f"strata {m['strata_commit']}{' (uncommitted changes)' if m['strata_dirty'] else ''}"
                      f" ({vlabel(t)})")
        else:
            tv.append(vlabel(t))
    runs_txt = "median of %d runs" % m["options"]["runs"] if m["options"]["runs"] > 1 else "1 run"
    print(f"Measured {m['date'][:10]} on {m['cores']} cores ({m['cpu']}), {m['mem_bytes'] / 2**30:.0f} GiB RAM; "
          f"{'; '.join(tv)}; backed up: {' + '.join(m['dataset']['sources'])} of the bench dataset; "
          f"{runs_txt}, warm page cache; MB = 10^6 bytes; ratios are tool/restic, lower is better.")
    print()
    print("| " + " | ".join("" if c == "metric" else c for c in cols) + " |")
    print("| " + " | ".join("---" for _ in cols) + " |")
    for r in table:
        print("| " + " | ".join(show(r, c) for c in cols) + " |")
    print()

    out = {
        "meta": meta,
        "tools": tools,
        "units": {"time": "s", "rss": "KiB (peak RSS from /usr/bin/time %M)", "bytes": "bytes"},
        "median": med,
        "ratios_vs_restic": {t: {k: ratio(t, k, "x") for _, k, *_ in rows if k} for t in others},
        "runs": {t: [dict(run=n, **v) for n, v in sorted(runs[t].items())] for t in tools},
        "table": table,
    }
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
