#!/usr/bin/python3
"""relulab_torch against PyTorch's own ops, in one process on the same tensors, interleaved.

1. Each activation's forward (under no_grad) and forward + backward (autograd, dy = 1s), at
   2^14, 2^18 and 2^22 float32 elements, with torch.set_num_threads(1) and (2): per round, one
   timed batch of each (the order alternates between rounds), batches of >= 4 ms (20 ms at
   2^22, where page faults of the fresh outputs vary), 11 rounds; the
   time per call is the batch time / calls. Medians with min-max.
2. One training step (zero_grad, forward, cross-entropy, backward, SGD momentum step) of the MLP
   784-512-512-10 and the small CNN of bench/torch_train.py at batch 128, with ReLU and with GELU:
   the model as built against a copy after relulab_torch.replace_activations, interleaved.

Writes JSON (--out) and, with --doc, the "PyTorch extension" section of docs/performance.md.
Usage: PYTHONPATH=build/python /usr/bin/python3 bench/torch_extension.py [--quick] [--doc F]
"""
import argparse
import copy
import datetime
import json
import platform
import statistics
import subprocess
import time

import torch
import torch.nn.functional as TF

import relulab_torch
from relulab_torch import functional as RF

# (label, PyTorch's call, relulab_torch's call); transcendental ones first in each table.
OPS = [
    ("relu", TF.relu, RF.relu, False),
    ("leaky_relu", TF.leaky_relu, RF.leaky_relu, False),
    ("relu6", TF.relu6, RF.relu6, False),
    ("hardsigmoid", TF.hardsigmoid, RF.hardsigmoid, False),
    ("hardswish", TF.hardswish, RF.hardswish, False),
    ("elu", TF.elu, RF.elu, True),
    ("selu", TF.selu, RF.selu, True),
    ("celu", TF.celu, RF.celu, True),
    ("gelu", TF.gelu, RF.gelu, True),
    ("gelu_tanh", lambda x: TF.gelu(x, approximate="tanh"),
     lambda x: RF.gelu(x, approximate="tanh"), True),
    ("silu", TF.silu, RF.silu, True),
    ("mish", TF.mish, RF.mish, True),
    ("softplus", TF.softplus, RF.softplus, True),
    ("sigmoid", torch.sigmoid, RF.sigmoid, True),
    ("tanh", torch.tanh, RF.tanh, True),
]
PRELU_WEIGHT = torch.tensor([0.25])
OPS.insert(2, ("prelu", lambda x: TF.prelu(x, PRELU_WEIGHT), lambda x: RF.prelu(x, PRELU_WEIGHT),
               False))


def calls_for(run, seconds):
    """How many calls of `run` take about `seconds` (at least 1)."""
    run()
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(seconds / once))


def interleaved(runs, rounds, seconds=0.002):
    """{name: [seconds per call, one per round]}, runs timed in alternating order."""
    calls = {name: calls_for(run, seconds) for name, run in runs.items()}
    times = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            run, n = runs[name], calls[name]
            start = time.perf_counter()
            for _ in range(n):
                run()
            times[name].append((time.perf_counter() - start) / n)
    return times


def summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "samples": samples}


def forward_run(fn, x):
    def run():
        with torch.no_grad():
            fn(x)
    return run


def training_run(fn, x, dy):
    leaf = x.clone().requires_grad_()

    def run():
        leaf.grad = None
        fn(leaf).backward(dy)
    return run


def bench_ops(sizes, threads_list, rounds, floors):
    results = []
    generator = torch.Generator().manual_seed(1)
    for size in sizes:
        x = torch.randn(size, generator=generator) * 3
        dy = torch.ones(size)
        for threads in threads_list:
            torch.set_num_threads(threads)
            # What autograd itself costs, whichever op: a view's backward (no kernel) and the
            # gradient accumulation. Both sides of every forward+backward row pay it.
            floor = interleaved({"floor": training_run(lambda v: v.view(-1), x, dy)}, rounds)
            floors.append({"size": size, "threads": threads, "floor": summary(floor["floor"])})
            for name, theirs, ours, transcendental in OPS:
                for kind, make in (("forward", lambda f: forward_run(f, x)),
                                   ("forward+backward", lambda f: training_run(f, x, dy))):
                    # DRAM-sized calls vary with page faults: longer batches there.
                    t = interleaved({"pytorch": make(theirs), "relulab": make(ours)}, rounds,
                                    seconds=0.02 if size >= 1 << 22 else 0.004)
                    results.append({"activation": name, "pass": kind, "size": size,
                                    "threads": threads, "transcendental": transcendental,
                                    "pytorch": summary(t["pytorch"]),
                                    "relulab": summary(t["relulab"])})
    return results


def make_model(name, activation):
    act = torch.nn.ReLU if activation == "relu" else torch.nn.GELU
    if name == "mlp":
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), act(),
                                   torch.nn.Linear(512, 512), act(), torch.nn.Linear(512, 10))
    return torch.nn.Sequential(torch.nn.Conv2d(1, 32, 5, padding=2), act(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(32, 64, 5, padding=2), act(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(3136, 512), act(),
                               torch.nn.Linear(512, 10))


def step_run(model, x, labels):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def run():
        optimizer.zero_grad()
        TF.cross_entropy(model(x), labels).backward()
        optimizer.step()
    return run


def bench_training(threads_list, rounds, batch=128):
    results = []
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(batch, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (batch,), generator=generator)
    for threads in threads_list:
        torch.set_num_threads(threads)
        for model_name in ("mlp", "cnn"):
            for activation in ("relu", "gelu"):
                torch.manual_seed(3)
                theirs = make_model(model_name, activation)
                ours = copy.deepcopy(theirs)
                relulab_torch.replace_activations(ours)
                t = interleaved({"pytorch": step_run(theirs, x, labels),
                                 "relulab": step_run(ours, x, labels)}, rounds, seconds=0.05)
                results.append({"model": model_name, "activation": activation, "batch": batch,
                                "threads": threads, "pytorch": summary(t["pytorch"]),
                                "relulab": summary(t["relulab"])})
    return results


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def us(s):
    return f"{s['median'] * 1e6:,.1f} ({s['min'] * 1e6:,.1f}–{s['max'] * 1e6:,.1f})"


def ratio(r):
    return r["pytorch"]["median"] / r["relulab"]["median"]


def markdown(data):
    lines = ["<!-- torch-extension:begin -->", "## PyTorch extension (relulab_torch against PyTorch's own ops)", "",
             f"Measured by `{data['command']}` on {data['date']} ({data['cpu']}, PyTorch "
             f"{data['torch']}, relulab at {data['commit']}). Same process, same float32 tensors, "
             f"interleaved: per round one batch of calls (≥ 4 ms, 20 ms at 2^22) of each, {data['rounds']} rounds; "
             "µs per call as median (min–max); × = PyTorch's median / relulab_torch's. forward runs "
             "under no_grad; forward+backward is `f(x).backward(dy)` through autograd. Both sides "
             "run at the same torch.set_num_threads, and both thread counts are shown.", ""]
    for size in data["sizes"]:
        floor = ", ".join(f"{f['threads']} thread{'s' if f['threads'] > 1 else ''}: "
                          f"{us(f['floor'])} µs" for f in data["autograd_floor"]
                          if f["size"] == size)
        lines += [f"### 2^{size.bit_length() - 1} floats", "",
                  "Autograd's own cost in every forward+backward row, both sides (the backward of "
                  f"`x.view(-1)`: no kernel, only the engine and the gradient accumulation): {floor}.",
                  "",
                  "| activation | pass | threads | PyTorch µs | relulab_torch µs | × PyTorch |",
                  "|---|---|---|---|---|---|"]
        for r in data["ops"]:
            if r["size"] == size:
                lines.append(f"| {r['activation']} | {r['pass']} | {r['threads']} | "
                             f"{us(r['pytorch'])} | {us(r['relulab'])} | {ratio(r):.2f} |")
        lines.append("")
    lines += ["### One training step after replace_activations (batch 128, SGD momentum 0.9)", "",
              "| model | activation | threads | PyTorch ms | after replace_activations ms | × PyTorch |",
              "|---|---|---|---|---|---|"]
    for r in data["training"]:
        ms = lambda s: f"{s['median'] * 1e3:,.2f} ({s['min'] * 1e3:,.2f}–{s['max'] * 1e3:,.2f})"
        lines.append(f"| {r['model']} | {r['activation']} | {r['threads']} | {ms(r['pytorch'])} | "
                     f"{ms(r['relulab'])} | {ratio(r):.2f} |")
    def name(r):
        return f"{r['activation']} {r['pass']} 2^{r['size'].bit_length() - 1} {r['threads']}t {ratio(r):.2f}"

    def overlap(r):  # the min-max ranges overlap: inside the run's spread, a tie
        return r["relulab"]["min"] <= r["pytorch"]["max"] and r["pytorch"]["min"] <= r["relulab"]["max"]

    slower = [r for r in data["ops"] if ratio(r) < 1]
    clearly = [r for r in slower if not overlap(r)]
    in_cache = [r for r in data["ops"] if r["transcendental"] and r["size"] <= 1 << 18]
    short = [r for r in in_cache if ratio(r) < 2]
    lines += ["", "Targets:", "",
              f"- Never slower than PyTorch: {len(clearly)} of {len(data['ops'])} rows slower "
              "beyond the spread (" + (", ".join(name(r) for r in clearly) or "none") + f"); "
              f"{len(slower) - len(clearly)} more below 1.00× with overlapping min–max, ties "
              "inside the noise (" + (", ".join(name(r) for r in slower if overlap(r)) or "none") + ").",
              f"- ≥ 2× for the transcendental ones in cache (2^14 and 2^18): {len(in_cache) - len(short)}"
              f" of {len(in_cache)} rows; below: " + (", ".join(name(r) for r in short) or "none") + ".",
              "<!-- torch-extension:end -->"]
    return "\n".join(lines) + "\n"


def write_doc(path, section):
    text = open(path).read()
    begin, end = "<!-- torch-extension:begin -->", "<!-- torch-extension:end -->\n"
    if begin in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        marker = "<!-- training:begin -->"
        text = text.replace(marker, section + "\n" + marker)
    open(path, "w").write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2^14 only, 3 rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--out", default="build/bench/torch_extension.json")
    parser.add_argument("--doc", help="write the section into this markdown file")
    parser.add_argument("--command", default="bash scripts/bench-torch-extension")
    args = parser.parse_args()
    sizes = [1 << 14] if args.quick else [1 << 14, 1 << 18, 1 << 22]
    rounds = 3 if args.quick else args.rounds
    threads = [1, 2]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    floors = []
    data = {"command": args.command, "date": datetime.date.today().isoformat(), "cpu": cpu_name(),
            "torch": torch.__version__, "commit": commit, "rounds": rounds, "sizes": sizes,
            "ops": bench_ops(sizes, threads, rounds, floors),
            "autograd_floor": floors,
            "training": bench_training(threads, 3 if args.quick else rounds)}
    with open(args.out, "w") as f:
        json.dump(data, f, indent=1)
    section = markdown(data)
    print(section)
    if args.doc:
        write_doc(args.doc, section)


if __name__ == "__main__":
    main()
