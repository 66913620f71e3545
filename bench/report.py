"""Ratios against the peers, the issue's targets, regressions, and the tables."""

from __future__ import annotations

import math

from bench import problems as P

# ------------------------------------------------------------------ ratios

NUMPY_ROW = "numpy (hand-written)"
GEMM_ROW = "numpy GEMM floor"

# ratio key -> (column title, lower is better)
RATIO_KEYS = {
    "time_vs_torch": ("× torch", True),
    "time_vs_numpy": ("× numpy", True),
    "time_vs_gemm": ("× GEMM floor", True),
    "time_vs_jax": ("× JAX jit", True),
    "time_vs_spelling": ("× best spelling", True),
    "mem_vs_torch": ("memory × torch", True),
    "mem_saving": ("memory saved by checkpointing", False),
}


def ok(row) -> bool:
    return row.get("status") == "ok" and row.get("time_s") is not None


def add_ratios(results: dict) -> None:
    """Give every timed row its ratios against the rows of the same run: torch (its
    fastest row; for W6 the row of the same variant), the hand-written NumPy row and the
    GEMM floor; for W6 also memory against torch's and the saving by checkpointing."""
    for rows in results.values():
        for row in rows:
            row["ratios"] = {}
            if not ok(row):
                continue
            variant = row.get("variant")
            # a replayed (cr.jit) variant is compared with the peers' rows of its base variant
            base = variant.split("+")[0] if variant else variant
            torch = [r for r in rows if r["lib"] == "torch" and ok(r)
                     and r.get("variant") == base]
            ratios = row["ratios"]
            if torch:
                best = min(torch, key=lambda r: r["time_s"])
                ratios["time_vs_torch"] = row["time_s"] / best["time_s"]
                if row.get("peak_mb") and best.get("peak_mb"):
                    ratios["mem_vs_torch"] = row["peak_mb"] / best["peak_mb"]
            for key, name in (("time_vs_numpy", NUMPY_ROW), ("time_vs_gemm", GEMM_ROW)):
                ref = [r for r in rows if r["name"] == name and ok(r)]
                if key == "time_vs_numpy" and base == "distinct":  # W6's own NumPy row
                    ref = [r for r in rows if r["lib"] == "numpy" and ok(r)
                           and r.get("variant") == base]
                if ref and row["name"] != name:
                    ratios[key] = row["time_s"] / ref[0]["time_s"]
            jax = [r for r in rows if r["lib"] == "jax" and ok(r) and r.get("variant") == base]
            if jax and row["lib"] != "jax":
                ratios["time_vs_jax"] = row["time_s"] / min(r["time_s"] for r in jax)
            group = spelling_group(row)
            if group is not None:
                same = [r for r in rows if ok(r) and spelling_group(r) == group]
                ratios["time_vs_spelling"] = row["time_s"] / min(r["time_s"] for r in same)
            if base == "checkpoint" and row.get("peak_mb"):
                plain_variant = variant.replace("checkpoint", "plain")
                plain = [r for r in rows if r["lib"] == row["lib"] and ok(r)
                         and r.get("variant") == plain_variant and r.get("peak_mb")]
                if plain:
                    ratios["mem_saving"] = plain[0]["peak_mb"] / row["peak_mb"]


def spelling_group(row) -> str | None:
    """For a chainrule row of W3/W4 written in one of the spellings of bench.spellings
    (``chainrule [relu: ...]``, ``chainrule (jit) [...]``) or the default one: whether it
    is replayed ("jit") or not ("plain"); None for any other row."""
    if row.get("lib") != "chainrule":
        return None
    name = row["name"].split(" [", 1)[0]
    return {"chainrule": "plain", "chainrule (jit)": "jit"}.get(name)


# ------------------------------------------------------------------ targets

# (workload, variant of the chainrule rows, ratio key, "<=" or ">=", limit, description);
# a description that names cr.jit applies to the replayed rows only.
TARGETS = [
    ("W1", None, "time_vs_numpy", "<=", 2.0, "W1 replayed by cr.jit ≤ 2× the NumPy floor"),
    ("W3", None, "time_vs_jax", "<=", 1.0, "W3 replayed by cr.jit ≤ 1.0× JAX jit"),
    ("W1", None, "time_vs_torch", "<=", 0.5, "W1 overhead ≤ 0.5× PyTorch eager"),
    ("W1", None, "time_vs_numpy", "<=", 3.0, "W1 overhead ≤ 3× the NumPy floor"),
    ("W2", None, "time_vs_torch", "<=", 1.0, "W2 scalar graph ≤ 1.0× PyTorch"),
    ("W3", None, "time_vs_torch", "<=", 0.9, "W3 small MLP step ≤ 0.9× PyTorch eager"),
    ("W4", None, "time_vs_gemm", "<=", 1.10, "W4 large MLP step ≤ 1.10× the GEMM floor"),
    ("W3", None, "time_vs_spelling", "<=", 1.10, "W3 every spelling ≤ 1.10× the fastest"),
    ("W4", None, "time_vs_spelling", "<=", 1.10, "W4 every spelling ≤ 1.10× the fastest"),
    ("W5", None, "time_vs_torch", "<=", 1.0, "W5 Hessian-vector product ≤ 1.0× PyTorch"),
    ("W6", "plain", "time_vs_torch", "<=", 1.0, "W6 gradient time ≤ 1.0× PyTorch"),
    ("W6", "plain", "mem_vs_torch", "<=", 1.05, "W6 peak memory ≤ 1.05× PyTorch's"),
    ("W6", "checkpoint", "mem_saving", ">=", 3.0, "W6 memory ≥ 3× lower with checkpointing"),
    ("W6", "distinct", "time_vs_torch", "<=", 1.0,
     "W6 with 100 distinct weights: gradient time ≤ 1.0× PyTorch"),
]


def evaluate_targets(results: dict) -> list[dict]:
    """One entry per target and chainrule row (functional and eager rows alike)."""
    out = []
    for workload, variant, key, op, limit, text in TARGETS:
        rows = [r for r in results.get(workload, []) if r["lib"] == "chainrule"
                and (variant is None or r.get("variant") == variant)
                and ("cr.jit" not in text or "jit" in r["name"])]
        for row in rows:
            if key == "time_vs_spelling" and spelling_group(row) is None:
                continue  # a row that is no spelling of the model (nn+optim)
            ratio = row.get("ratios", {}).get(key)
            met = None
            if ratio is not None:
                met = ratio <= limit if op == "<=" else ratio >= limit
            out.append({"target": text, "workload": workload, "row": row["name"],
                        "ratio": ratio, "limit": limit, "op": op, "met": met,
                        "status": row["status"]})
    return out


# ------------------------------------------------------------------ regressions


def regressions(results: dict, baseline: dict, threshold: float = 0.30) -> list[str]:
    """WARNING lines for chainrule ratios more than ``threshold`` worse than the baseline's."""
    old = {(w, r["name"]): r.get("ratios", {})
           for w, rows in baseline.get("results", {}).items() for r in rows}
    lines = []
    for workload, rows in results.items():
        for row in rows:
            if row["lib"] != "chainrule" or (workload, row["name"]) not in old:
                continue
            before = old[(workload, row["name"])]
            for key, now in row.get("ratios", {}).items():
                was = before.get(key)
                if not was or not now:
                    continue
                lower_better = RATIO_KEYS[key][1]
                worse = now / was if lower_better else was / now
                if worse > 1 + threshold:
                    lines.append(
                        f"WARNING: regression in {workload} {row['name']}: "
                        f"{RATIO_KEYS[key][0]} {now:.2f} (baseline {was:.2f}, "
                        f"{(worse - 1) * 100:.0f}% worse)"
                    )
    return lines


# ------------------------------------------------------------------ formatting


def fmt_time(seconds) -> str:
    if seconds is None:
        return ""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(x) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.2f}"


def fmt_check(row) -> str:
    if "grad_error" not in row:
        return "—" if row["status"] == "ok" else ""
    word = "ok" if row["status"] != "FAILED" else "FAILED"
    return f"{word} ({row['grad_error']:.0e})"


def workload_table(workload: str, rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    if workload in P.MEMORY_WORKLOADS:
        head = ["implementation", "time", "peak memory", "× torch (time)",
                "× torch (memory)", "memory saved by checkpointing", "× numpy",
                "gradient check"]
    else:
        head = ["implementation", "time", "µs/op", "× torch", "× numpy", "× GEMM floor",
                "× JAX jit", "× best spelling", "gradient check"]
    body = []
    for row in rows:
        r = row.get("ratios", {})
        if not ok(row):
            msg = row["status"] + (f": {row['message']}" if row.get("message") else "")
            body.append([row["name"], msg] + [""] * (len(head) - 3) + [fmt_check(row)])
            continue
        time_ = fmt_time(row["time_s"])
        if workload in P.MEMORY_WORKLOADS:
            mem = f"{row['peak_mb']:.1f} MB" if row.get("peak_mb") is not None else ""
            saving = r.get("mem_saving")
            body.append([row["name"], time_, mem, fmt_ratio(r.get("time_vs_torch")),
                         fmt_ratio(r.get("mem_vs_torch")),
                         f"{saving:.2f}×" if saving else "",
                         fmt_ratio(r.get("time_vs_numpy")), fmt_check(row)])
        else:
            per_op = f"{row['us_per_op']:.2f}" if row.get("us_per_op") else ""
            body.append([row["name"], time_, per_op, fmt_ratio(r.get("time_vs_torch")),
                         fmt_ratio(r.get("time_vs_numpy")), fmt_ratio(r.get("time_vs_gemm")),
                         fmt_ratio(r.get("time_vs_jax")), fmt_ratio(r.get("time_vs_spelling")),
                         fmt_check(row)])
    # drop columns that are empty in every row
    keep = [i for i in range(len(head)) if i < 2 or any(b[i] for b in body)]
    return [head[i] for i in keep], [[b[i] for i in keep] for b in body]


def target_lines(targets: list[dict]) -> list[list[str]]:
    out = []
    for t in targets:
        if t["met"] is None:
            verdict = "not measured" if t["status"] == "ok" else t["status"]
        else:
            verdict = "met" if t["met"] else "not met"
        ratio = "" if t["ratio"] is None else f"{t['ratio']:.3f}"
        out.append([t["target"], t["row"], ratio, verdict])
    return out


def text_table(head, body) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def md_table(head, body) -> str:
    esc = [[str(x).replace("|", "\\|") for x in row] for row in [head, *body]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in esc[1:]]
    return "\n".join(lines)


def render_text(data: dict) -> str:
    parts = []
    for workload, rows in data["results"].items():
        parts.append(f"\n{workload}  {P.title(workload, data['meta']['quick'])}")
        parts.append(text_table(*workload_table(workload, rows)))
    if data["targets"]:
        parts.append("\nTargets (chainrule)")
        parts.append(text_table(["target", "row", "ratio", "verdict"],
                                target_lines(data["targets"])))
    return "\n".join(parts)


def render_markdown(data: dict) -> str:
    meta = data["meta"]
    v = meta["versions"]
    lines = ["## Results", ""]
    lines.append(f"- Machine: {meta['cpu']}, {meta['cpus']} logical CPUs; every library runs "
                 f"in its own process with {meta['threads']} threads; {meta['os']}")
    lines.append("- Versions: " + ", ".join(
        f"{k} {v[k]}" for k in ("python", "numpy", "chainrule", "torch", "autograd", "jax")
        if k in v))
    if meta.get("blas"):
        lines.append(f"- NumPy's BLAS: {meta['blas']}")
    load = meta.get("load_average") or [None, None]
    lines.append(f"- Mode: {'quick' if meta['quick'] else 'full'}; date {meta['date']}; "
                 f"{meta['seconds']:.0f} s; 1-minute load average {load[0]} before, "
                 f"{load[1]} after")
    lines.append(f"- Command: `{meta['command']}`")
    if meta.get("rounds", 1) > 1:
        lines.append(f"- Each library ran {meta['rounds']} rounds (in turn with the others); "
                     "each row is its best round's median time and the median of the "
                     "rounds' peak memory")
    lines.append("")
    lines.append("Times are medians of repeats after a warm-up; a ratio is the row's time over "
                 "the reference row's time measured in the same run (below 1 is faster). "
                 "Every gradient was compared with a float64 reference before timing "
                 "(relative error in the last column).")
    for workload, rows in data["results"].items():
        lines += ["", f"### {workload}: {P.title(workload, meta['quick'])}", ""]
        lines.append(md_table(*workload_table(workload, rows)))
    if data["targets"]:
        lines += ["", "### Targets", ""]
        lines.append(md_table(["target", "chainrule row", "ratio", "verdict"],
                              target_lines(data["targets"])))
    return "\n".join(lines) + "\n"
