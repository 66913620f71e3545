"""W9: one training step of sequence models, chainrule against PyTorch eager.

    python -m bench.w9                 # full sizes, prints the table, writes bench/results/w9.json
    python -m bench.w9 --quick         # small sizes, a smoke run

Two models, float32, SGD (lr 0.01) on a mean-squared-error loss against a fixed target:
a 2-layer ``TransformerEncoder`` (d_model 128, 4 heads, feed-forward 512, batch-first,
dropout 0) on a (32, 64, 128) batch, and a 2-layer ``LSTM`` (input 64, hidden 256) on a
(64, 32, 64) sequence. Both libraries start from the same weights: PyTorch's are copied
into chainrule's modules by parameter name. Before anything is timed, chainrule's
gradients are compared with PyTorch's float64 gradients at the same weights (W9 has no
hand-written reference: a second Transformer backward pass by hand would be one more
implementation to trust, and tests/nn checks the layers against PyTorch to 1e-10 in
float64). Rows: PyTorch eager (``torch.nn`` + ``torch.optim.SGD``), chainrule eager
(``chainrule.nn`` + ``chainrule.optim.SGD``), and chainrule under ``cr.jit`` (the model
as a pytree, the step traced once and replayed). Time: warm-up, then 5
rounds that time every row once in turn (interleaved: the machine may be shared), the
median over the rounds; 2 BLAS threads in every library.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.child import time_call  # noqa: E402

FULL = {"transformer": {"batch": 32, "seq": 64, "d_model": 128, "heads": 4, "ff": 512, "layers": 2},
        "lstm": {"batch": 32, "seq": 64, "input": 64, "hidden": 256, "layers": 2}}
QUICK = {"transformer": {"batch": 4, "seq": 16, "d_model": 32, "heads": 4, "ff": 64, "layers": 2},
         "lstm": {"batch": 4, "seq": 12, "input": 8, "hidden": 16, "layers": 2}}
LR = 0.01
TOLERANCE = 1e-4  # float32 against a float64 gradient


def torch_model(kind: str, spec: dict):
    import torch

    torch.manual_seed(9)
    if kind == "transformer":
        layer = torch.nn.TransformerEncoderLayer(spec["d_model"], spec["heads"], spec["ff"], dropout=0.0,
                                                 batch_first=True)
        return torch.nn.TransformerEncoder(layer, spec["layers"], enable_nested_tensor=False)
    return torch.nn.LSTM(spec["input"], spec["hidden"], spec["layers"])


def our_model(kind: str, spec: dict):
    from chainrule import nn

    if kind == "transformer":
        layer = nn.TransformerEncoderLayer(spec["d_model"], spec["heads"], spec["ff"], dropout=0.0,
                                           batch_first=True)
        return nn.TransformerEncoder(layer, spec["layers"])
    return nn.LSTM(spec["input"], spec["hidden"], spec["layers"])


def data(kind: str, spec: dict):
    r = np.random.default_rng(9)
    if kind == "transformer":
        x = r.standard_normal((spec["batch"], spec["seq"], spec["d_model"]))
        y = r.standard_normal(x.shape)
    else:
        x = r.standard_normal((spec["seq"], spec["batch"], spec["input"]))
        y = r.standard_normal((spec["seq"], spec["batch"], spec["hidden"]))
    return x.astype(np.float32), y.astype(np.float32)


def output(kind, out):
    return out[0] if kind == "lstm" else out


def cases(kind: str, spec: dict):
    """(name, step, gradient list) for each row; the gradient lists in parameter order."""
    import torch

    import chainrule as cr
    import chainrule.nn.functional as F
    from chainrule import optim
    from chainrule.optim import functional as fopt

    x, y = data(kind, spec)
    theirs = torch_model(kind, spec)
    names = [n for n, _ in theirs.named_parameters()]
    start = {n: p.detach().numpy().copy() for n, p in theirs.named_parameters()}
    topt = torch.optim.SGD(theirs.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step():
        topt.zero_grad()
        torch.nn.functional.mse_loss(output(kind, theirs(xt)), yt).backward()
        topt.step()

    def torch_grads():
        theirs.load_state_dict({n: torch.from_numpy(v) for n, v in start.items()}, strict=False)
        topt.zero_grad()
        torch.nn.functional.mse_loss(output(kind, theirs(xt)), yt).backward()
        return [p.grad.numpy().copy() for p in theirs.parameters()]

    ours = our_model(kind, spec)
    ours.load_state_dict(start)
    assert [n for n, _ in ours.named_parameters()] == names
    opt = optim.SGD(ours.parameters(), lr=LR)

    def eager_step():
        opt.zero_grad()
        F.mse_loss(output(kind, ours(x)), y).backward()
        opt.step()

    def eager_grads():
        ours.load_state_dict(start)
        opt.zero_grad()
        F.mse_loss(output(kind, ours(x)), y).backward()
        return [p.grad.numpy().copy() for p in ours.parameters()]

    sgd = fopt.sgd(lr=LR)

    def loss(m, x, y):
        return F.mse_loss(output(kind, m(x)), y)

    @cr.jit
    def train_step(model, state, x, y):
        grads = cr.grad(loss)(model, x, y)
        model, state = sgd.update(model, grads, state)
        return model, state

    jit_grads_fn = cr.jit(cr.grad(loss))

    def as_arrays():
        """The model with arrays for parameters: what cr.jit traces once and replays
        (Parameters that require grad would send every call down the eager path)."""
        m = our_model(kind, spec)
        m.load_state_dict(start)
        return cr.tree_map(lambda p: p.detach().numpy().copy(), m)

    holder = [as_arrays()]
    holder.append(sgd.init(holder[0]))

    def jit_step():
        holder[0], holder[1] = train_step(holder[0], holder[1], x, y)

    def jit_grads():
        return list(cr.tree_leaves(jit_grads_fn(as_arrays(), x, y)))

    reference_model = torch_model(kind, spec).double()
    reference_model.load_state_dict({n: torch.from_numpy(v.astype(np.float64)) for n, v in start.items()})
    torch.nn.functional.mse_loss(output(kind, reference_model(xt.double())), yt.double()).backward()
    reference = [p.grad.numpy() for p in reference_model.parameters()]
    return reference, [("torch", torch_step, torch_grads), ("chainrule (nn+optim)", eager_step, eager_grads),
                       ("chainrule (jit)", jit_step, jit_grads)]


def relative_error(got, want) -> float:
    return max(float(np.linalg.norm(np.asarray(g, np.float64) - w) / max(np.linalg.norm(w), 1e-30))
               for g, w in zip(got, want, strict=True))


def run(quick: bool, rounds: int = 5) -> dict:
    """Every row warmed up, then ``rounds`` rounds that time each row once in turn
    (interleaved, so that a burst of load from other work hits every row alike); a
    row's time is its median over the rounds, its ratio the median of the per-round
    ratios to PyTorch."""
    import torch

    torch.set_num_threads(2)
    sizes = QUICK if quick else FULL
    warmup, min_repeat = (0.05, 0.03) if quick else (1.0, 0.2)
    results = {}
    for kind, spec in sizes.items():
        reference, rows = cases(kind, spec)
        table, timed = [], []
        for name, step, grads in rows:
            err = relative_error(grads(), reference)
            row = {"name": name, "grad_error": err, "status": "ok" if err <= TOLERANCE else "FAILED"}
            if row["status"] == "ok":
                _, number, _ = time_call(step, warmup, 1, min_repeat)
                row.update(number=number, rounds_ms=[])
                timed.append((row, step))
            table.append(row)
        for _ in range(3 if quick else rounds):
            for row, step in timed:
                t0 = time.perf_counter()
                for _ in range(row["number"]):
                    step()
                row["rounds_ms"].append((time.perf_counter() - t0) / row["number"] * 1e3)
        base = next((r for r in table if r["name"] == "torch" and r["status"] == "ok"), None)
        for r in table:
            if r["status"] == "ok":
                r["ms"] = statistics.median(r["rounds_ms"])
                if base is not None:
                    r["vs_torch"] = statistics.median(a / b for a, b in zip(r["rounds_ms"], base["rounds_ms"],
                                                                            strict=True))
        results[kind] = {"spec": spec, "rows": table, "rounds": 3 if quick else rounds}
    return results


def format_table(results: dict) -> str:
    lines = ["| model | row | ms / step | × torch | gradient error |", "|---|---|---:|---:|---:|"]
    for kind, res in results.items():
        for r in res["rows"]:
            ms = f"{r['ms']:.1f}" if r["status"] == "ok" else r["status"]
            ratio = f"{r['vs_torch']:.2f}" if "vs_torch" in r else "—"
            lines.append(f"| {kind} | {r['name']} | {ms} | {ratio} | {r['grad_error']:.1e} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.w9", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke run)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (default 5)")
    parser.add_argument("--out", default=None, help="JSON results (default: bench/results/w9.json, not in --quick)")
    args = parser.parse_args(argv)
    results = run(args.quick, args.rounds)
    print(format_table(results))
    out = args.out or (None if args.quick else str(Path(__file__).parent / "results" / "w9.json"))
    if out:
        Path(out).write_text(json.dumps(results, indent=2))
    failed = [r for res in results.values() for r in res["rows"] if r["status"] != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
