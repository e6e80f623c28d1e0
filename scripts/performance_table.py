#!/usr/bin/env python3
"""Writes docs/performance.md from one activation_bench run and one torch_activations run.

Inputs: the Google Benchmark JSON of build/bench/activation_bench (--benchmark_out, repetitions
with aggregates: the medians are used) and the JSON of bench/torch_activations.py. The benchmark
names are "<impl>/<pass>/<kernel>/log2n:<k>/threads:<t>" (bench/throughput.hpp). Standard
library only; any python3.

Usage: scripts/performance_table.py --bench bench.json --torch torch.json
           --command "the command that made them" [--out docs/performance.md]
"""
import argparse
import json
import os
import re
from collections import defaultdict

KERNELS_END = "<!-- kernels:end -->"

NAME = re.compile(r"^(?P<impl>[a-z_]+)/(?:(?P<pass>[a-z_]+)/(?P<kernel>[a-z0-9_]+)/)?"
                  r"log2n:(?P<log2n>\d+)/threads:(?P<threads>\d+)")
PASSES = ("forward", "backward", "backward_from_output")
# The targets. Piecewise-linear group as the issue names it (HardSwish included).
PIECEWISE = ("relu", "leaky_relu", "prelu", "relu6", "hardsigmoid", "hardswish")
COPY_TARGET = 0.9
TORCH_TARGET = 3.0
ONEDNN_TARGET = 1.5


def load_bench(path):
    """Returns (context, {(impl, pass, kernel, log2n, threads): median GB/s and Gelem/s})."""
    with open(path) as f:
        data = json.load(f)
    runs = [b for b in data["benchmarks"] if b.get("aggregate_name") == "median"]
    if not runs:  # a run without --benchmark_repetitions: one run per benchmark
        runs = [b for b in data["benchmarks"] if b.get("run_type") == "iteration"]
    medians = {}
    for b in runs:
        m = NAME.match(b["run_name"])
        if not m:
            continue
        key = (m["impl"], m["pass"] or "forward", m["kernel"] or "copy", int(m["log2n"]),
               int(m["threads"]))
        medians[key] = {"gbps": b["GB/s"], "gelem": b["Gelem/s"], "copy_ratio": b["copy_ratio"]}
    return data["context"], medians


def load_torch(path):
    with open(path) as f:
        data = json.load(f)
    medians = {}
    for r in data["results"]:
        key = ("pytorch", r["pass"], r["kernel"], r["log2n"], r["threads"])
        medians[key] = {"gbps": r["gbps"], "gelem": r["gelem_per_s"]}
    return data["context"], medians


def ratio(results, key, peer_impl):
    peer = results.get((peer_impl,) + key[1:])
    mine = results.get(key)
    if not peer or not mine:
        return None
    return mine["gbps"] / peer["gbps"]


def fmt(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def kernels_in_order(results):
    """relulab's kernels in the order the benchmark registered them (the activation table)."""
    seen = []
    for impl, _, kernel, _, _ in results:
        if impl == "relulab" and kernel not in seen:
            seen.append(kernel)
    return seen


def size_table(results, log2n, threads_list, kernels):
    head = "| kernel | pass |"
    rule = "|---|---|"
    for t in threads_list:
        head += f" Gelem/s {t}T | GB/s {t}T | ×copy {t}T | ×oneDNN {t}T | ×PyTorch {t}T |"
        rule += "---:|---:|---:|---:|---:|"
    lines = [head, rule]
    for kernel in kernels:
        for pass_name in PASSES:
            if not any(("relulab", pass_name, kernel, log2n, t) in results for t in threads_list):
                continue
            row = f"| {kernel} | {pass_name} |"
            for t in threads_list:
                key = ("relulab", pass_name, kernel, log2n, t)
                r = results.get(key)
                if r is None:
                    row += " – | – | – | – | – |"
                    continue
                row += (f" {r['gelem']:.2f} | {r['gbps']:.1f} | {r['copy_ratio']:.2f} |"
                        f" {fmt(ratio(results, key, 'onednn'))} |"
                        f" {fmt(ratio(results, key, 'pytorch'))} |")
            lines.append(row)
    return lines


def check(results, kernels, predicate, keys):
    """Returns (met, failures) over the relulab keys selected by `keys`; failures as text."""
    failures = []
    checked = 0
    for key in keys:
        r = results.get(key)
        if r is None:
            continue
        verdict = predicate(key, r)
        if verdict is None:
            continue
        checked += 1
        if not verdict[0]:
            _, pass_name, kernel, log2n, threads = key
            failures.append(f"{kernel} {pass_name} 2^{log2n} {threads}T: {verdict[1]}")
    return checked, failures


def targets(results, kernels, sizes, threads_list):
    def keys(kernel_set, size_set, thread_set, passes=("forward", "backward")):
        return [("relulab", p, k, s, t) for k in kernel_set for p in passes for s in size_set
                for t in thread_set]

    def copy_only(key, r):
        return r["copy_ratio"] >= COPY_TARGET, f"×copy {r['copy_ratio']:.2f}"

    def peer(peer_impl, factor):
        def predicate(key, r):
            value = ratio(results, key, peer_impl)
            if value is None:
                return None
            ok = value >= factor or r["copy_ratio"] >= COPY_TARGET
            return ok, f"×{peer_impl} {value:.2f}, ×copy {r['copy_ratio']:.2f}"
        return predicate

    others = [k for k in kernels if k not in PIECEWISE and k not in ("relu_mask", "bias_relu_rows")]
    in_cache = keys(kernels, [18], [1], PASSES)
    rows = [
        (f"Piecewise-linear ({', '.join(PIECEWISE)}), forward and backward: ≥ {COPY_TARGET:.0%} "
         "of copy bandwidth at every size and thread count",
         check(results, kernels, copy_only, keys(PIECEWISE, sizes, threads_list))),
        (f"Others ({', '.join(others)}), forward and backward: ≥ {COPY_TARGET:.0%} of copy "
         "bandwidth at 2^22 and 2^26, 2 threads",
         check(results, kernels, copy_only, keys(others, [22, 26], [2]))),
        (f"In cache (2^18, 1 thread), every pass with a PyTorch equivalent: ≥ {TORCH_TARGET:g}× "
         f"PyTorch, or ≥ {COPY_TARGET:.0%} of copy bandwidth",
         check(results, kernels, peer("pytorch", TORCH_TARGET), in_cache)),
        (f"In cache (2^18, 1 thread), every pass with a oneDNN equivalent: ≥ {ONEDNN_TARGET:g}× "
         f"oneDNN, or ≥ {COPY_TARGET:.0%} of copy bandwidth",
         check(results, kernels, peer("onednn", ONEDNN_TARGET), in_cache)),
    ]
    lines = []
    for text, (checked, failures) in rows:
        if checked == 0:
            verdict = "**not measured** in this plan"
        else:
            verdict = "**met**" if not failures else f"**not met** ({len(failures)} of {checked})"
        lines.append(f"- {text}: {verdict} ({checked} measurements).")
        lines.extend(f"  - {f}" for f in failures)
    return lines


def threshold_lines(results):
    lines = ["| log2 n | " + " | ".join(f"{k} 1T Gelem/s | {k} split 2T Gelem/s | 2T/1T"
                                        for k in ("relu", "gelu")) + " |",
             "|---:|" + "---:|---:|---:|" * 2]
    wins = {}  # kernel -> smallest log2 n from which two threads win at every larger size
    for log2n in range(12, 21):
        row = f"| {log2n} |"
        for kernel in ("relu", "gelu"):
            one = results.get(("split", "forward", kernel, log2n, 1))
            two = results.get(("split", "forward", kernel, log2n, 2))
            if not one or not two:
                row += " – | – | – |"
                continue
            speedup = two["gelem"] / one["gelem"]
            row += f" {one['gelem']:.2f} | {two['gelem']:.2f} | {speedup:.2f} |"
            if speedup <= 1.0:
                wins.pop(kernel, None)
            elif kernel not in wins:
                wins[kernel] = log2n
        lines.append(row)
    summary = ", ".join(f"{k} from 2^{v}" for k, v in wins.items()) or "nowhere in 2^12..2^20"
    return lines, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True)
    parser.add_argument("--torch", required=True)
    parser.add_argument("--command", required=True, help="the command that produced the inputs")
    parser.add_argument("--out", default="docs/performance.md")
    args = parser.parse_args()

    context, results = load_bench(args.bench)
    torch_context, torch_results = load_torch(args.torch)
    results.update(torch_results)
    kernels = kernels_in_order(results)
    sizes = sorted({k[3] for k in results if k[0] == "relulab"})
    threads_list = sorted({k[4] for k in results if k[0] == "relulab"})
    copies = defaultdict(dict)
    for (impl, _, kernel, log2n, threads), r in results.items():
        if kernel == "copy":
            copies[(log2n, threads)][impl] = r["gbps"]

    out = [
        "# Kernel performance",
        "",
        "The kernel sections, up to the `kernels:end` marker, are generated by "
        "`scripts/performance_table.py`; do not edit them by hand (what follows the marker is kept "
        "as it is). Regenerate with:",
        "",
        "```sh",
        args.command,
        "```",
        "",
        "Parts of it by hand (from the repository root, after a Release build in `build/`):",
        "",
        "- `build/bench/activation_bench --quick`: 2^14 and 2^18 floats only, 3 repetitions (about "
        "a minute; the smoke run for CI).",
        "- `build/bench/activation_bench --benchmark_filter='/gelu/.*threads:1'`: one activation "
        "(any Google Benchmark flag works, e.g. "
        "`--benchmark_out=run.json --benchmark_out_format=json`).",
        "- `/usr/bin/python3 bench/torch_activations.py --out torch.json [--quick] "
        "[--filter gelu]`: the PyTorch side.",
        "- `relulab bench [--quick]`: the CLI's short table, relulab against a copy only.",
        "- `build/bench/peer_accuracy`: the accuracy of oneDNN's kernels next to relulab's (the "
        "section after the generated ones).",
        "",
        "## Machine and run",
        "",
        f"- CPU: {torch_context.get('cpu', '?')}, {context.get('num_cpus', '?')} cores, "
        f"{context.get('mhz_per_cpu', '?')} MHz"
        + "".join(f", L{c['level']} {c['type']} {c['size'] // 1024} KiB"
                  for c in context.get("caches", [])) + ".",
        f"- relulab SIMD target: {context.get('relulab_simd_target', '?')}; "
        f"kParallelThreshold = {context.get('relulab_parallel_threshold', '?')} elements.",
        f"- oneDNN {context.get('onednn', '?')}; no oneDNN algorithm for: "
        f"{context.get('onednn_unmapped', '?')} (mapping in `bench/onednn_eltwise.cpp`).",
        f"- PyTorch {torch_context.get('torch', '?')} ({torch_context.get('parallel', '?')}); "
        "ops listed in `bench/torch_activations.py` (out= forms, no allocation, except "
        "mish_backward and hardswish_backward, which allocate inside: at 2^26 they pay page "
        "faults on every call, and their ratios measure that).",
        f"- Run {context.get('date', '?')}, plan `{context.get('plan', '?')}`.",
        "",
        "Every figure is the median over repetitions. Bytes per element: "
        f"{context.get('bytes_per_element', '?')}. ×copy = GB/s over the GB/s of a memcpy of the "
        "same n floats on the same threads (split like the kernels, one thread below "
        "kParallelThreshold), timed right after the kernel in every repetition over as many calls, "
        "so that both meet the same neighbours; the median of those per-repetition ratios is "
        "quoted (the copy table below is a separate copy benchmark). ×oneDNN comes from the "
        "same process run (oneDNN runs right before relulab on each kernel); ×PyTorch from "
        "`bench/torch_activations.py` run right after it. A ratio above 1 means relulab is "
        "faster. The machine is shared and noisy (other jobs may run): ratios from one run move "
        "by ±10–20 % in cache. At 2^22 a copy's two buffers (32 MiB) can still sit in the last-level "
        "cache while a backward's three (48 MiB) spill, so ×copy there is the harshest, and it "
        "moves with whatever else holds the shared cache (the 2-thread copy at 2^22 has read "
        "33 to 78 GB/s in different runs).",
        "",
        "## Targets",
        "",
    ]
    out += targets(results, kernels, sizes, threads_list)
    out += ["", "## Copy bandwidth (GB/s, read + write)", "",
            "| log2 n | " + " | ".join(f"memcpy {t}T | PyTorch copy_ {t}T" for t in threads_list)
            + " |", "|---:|" + "---:|---:|" * len(threads_list)]
    for log2n in sizes:
        row = f"| {log2n} |"
        for t in threads_list:
            c = copies.get((log2n, t), {})
            row += f" {fmt(c.get('copy'), 1)} | {fmt(c.get('pytorch'), 1)} |"
        out.append(row)
    for log2n in sizes:
        out += ["", f"## 2^{log2n} floats ({(4 << log2n) // 1024} KiB per buffer)", ""]
        out += size_table(results, log2n, threads_list, kernels)
    lines, summary = threshold_lines(results)
    out += ["", "## Parallel threshold", "",
            "Forward on one thread against the same span split in two halves over two OpenMP "
            "threads (what the kernels do above kParallelThreshold). Two threads first win: "
            f"{summary}.", ""] + lines
    # The training, accuracy and diagnostics sections after the marker come from other commands.
    kept = ""
    if os.path.exists(args.out):
        with open(args.out) as f:
            kept = f.read().partition(KERNELS_END)[2]
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n\n" + KERNELS_END + (kept or "\n"))


if __name__ == "__main__":
    main()
