#!/usr/bin/env python3
"""Writes docs/scaling.md from scripts/bench-mpi's measurements: img/s of 1 process x 2 threads
and of 2 MPI ranks x 1 thread (medians, min-max), the MPI_Allreduce time of each model's gradient
between 2 ranks, and a model of data-parallel training on 2 to 64 machines at 10, 25 and 100 Gb/s.

The model: a step at global batch B on N machines costs c B / N of compute (c: one machine's
seconds per training image, measured here) plus a ring allreduce of the gradient,
2 (N - 1) / N x P x 4 bytes per machine over a link of bandwidth W, plus 2 (N - 1) latencies of
ALPHA; relulab does not overlap the two, so they add. Speedup = c B / step; the per-machine batch
at which the allreduce takes as long as the compute is b* = allreduce / c: below it, more machines
buy less than half of their worth, which is where a model stops scaling."""
import argparse
import datetime
import json
import pathlib
import platform
import statistics

ALPHA = 10e-6  # seconds per message hop on a datacentre Ethernet (assumed, not measured)
NAMES = {"mlp": "MLP 784-512-512-10", "cnn": "CNN conv5x5(32)-pool-conv5x5(64)-pool-fc512-fc10"}
MACHINES = [2, 4, 8, 16, 32, 64]
LINKS = [10, 25, 100]  # Gb/s


def cpu():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def allreduce_seconds(params, n, gbps):
    return 2 * (n - 1) / n * params * 4 / (gbps * 1e9 / 8) + 2 * (n - 1) * ALPHA


def main():
    ap = argparse.ArgumentParser()
    for name in ("runs", "params", "allreduce", "command", "doc"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--reps", type=int, required=True)
    a = ap.parse_args()
    runs = [json.loads(l) for l in pathlib.Path(a.runs).read_text().splitlines() if l.strip()]
    params = {}
    for l in pathlib.Path(a.params).read_text().splitlines():
        if l.strip():
            j = json.loads(l)
            params[j["model"]] = j["parameters"]
    reduce_lines = [json.loads(l) for l in pathlib.Path(a.allreduce).read_text().splitlines() if l.strip()]
    by_floats = {r["floats"]: r for r in reduce_lines}

    out = ["# Scaling over processes and machines (MPI)", "",
           f"Measured by `{a.command}` on {datetime.date.today()} ({cpu()}, "
           f"{len(__import__('os').sched_getaffinity(0))} cores; Open MPI over shared memory), "
           f"{a.reps} interleaved repetitions of each setting (A B A B ...): `relulab train` on "
           "Fashion-MNIST, ReLU, SGD momentum 0.9, batch 128, the img/s of epoch 2 (epoch 1 warms up). "
           "`mpirun -np 2` gives each rank 1 thread (cores / ranks per machine) and half of every "
           "global batch; the gradients are summed with one MPI_Allreduce per step "
           "(src/train/data_parallel.hpp).", "",
           "## Measured on this machine: 1 process x 2 threads against 2 ranks x 1 thread", "",
           "| model | parameters | 1 process x 2 threads, img/s | 2 ranks x 1 thread, img/s | 2 ranks / 1 process | allreduce of the gradient, 2 ranks | step time at batch 128 (1 process) | allreduce / step |",
           "|---|---|---|---|---|---|---|---|"]
    compute = {}
    for m, name in NAMES.items():
        one = [r["images_per_second"] for r in runs if r["model"] == m and r["setting"].startswith("1 process")]
        two = [r["images_per_second"] for r in runs if r["model"] == m and r["setting"].startswith("2 ranks")]
        if not one or not two:
            continue
        m1, m2 = statistics.median(one), statistics.median(two)
        compute[m] = 1.0 / m1
        step = 128 / m1
        red = by_floats.get(params[m])
        red_text = (f"{red['median_s'] * 1e3:.2f} ms ({red['min_s'] * 1e3:.2f}–{red['max_s'] * 1e3:.2f})"
                    if red else "n/a")
        share = f"{red['median_s'] / step:.0%}" if red else "n/a"
        out.append(f"| {name} | {params[m]:,} | {m1:,.0f} ({min(one):,.0f}–{max(one):,.0f}) | "
                   f"{m2:,.0f} ({min(two):,.0f}–{max(two):,.0f}) | {m2 / m1:.2f} | {red_text} | "
                   f"{step * 1e3:.2f} ms | {share} |")
    out += ["", "On one machine the two settings use the same 2 cores, so 2 ranks can at best match "
            "1 process: what they add is the allreduce (and the copies into and out of its buffer), "
            "what they can save is the threading overhead of small GEMMs on 2 threads. The ratio "
            "says which wins here; the many-machine model below is where data parallelism pays.", "",
            "## Modelled: N machines like this one", "",
            "Bytes each machine sends (and receives) per step in a ring allreduce: 2 (N − 1) / N × "
            "parameters × 4 B. Time per step = compute c·B/N + bytes / bandwidth + 2 (N − 1) × "
            f"{ALPHA * 1e6:.0f} µs (latency per hop, assumed); c = 1 / (1 process x 2 threads img/s) "
            "measured above; compute and allreduce do not overlap in relulab (the allreduce starts "
            "after the whole backward). b* = the per-machine batch at which the allreduce takes as "
            "long as the compute: at a smaller per-machine batch the job stops scaling (each added "
            "machine buys less than half of its worth). Speedup is at the default global batch 128.", ""]
    for m, name in NAMES.items():
        if m not in compute:
            continue
        c = compute[m]
        p = params[m]
        out += [f"### {name} ({p:,} parameters, {p * 4 / 2**20:.1f} MiB of gradient; c = {c * 1e6:.1f} µs per image)", "",
                "| machines | MB sent per machine per step | " +
                " | ".join(f"{g} Gb/s: allreduce, speedup at B=128, b*" for g in LINKS) + " |",
                "|---|---|" + "---|" * len(LINKS)]
        for n in MACHINES:
            cells = []
            for g in LINKS:
                t = allreduce_seconds(p, n, g)
                speedup = c * 128 / (c * 128 / n + t)
                cells.append(f"{t * 1e3:.2f} ms, {speedup:.2f}x, {t / c:,.0f}")
            out.append(f"| {n} | {2 * (n - 1) / n * p * 4 / 1e6:.2f} | " + " | ".join(cells) + " |")
        out.append("")
    out += ["Reading the tables: at batch 128 a step of these small models is a few milliseconds of "
            "compute, while their gradients take milliseconds to cross even a 25 Gb/s link, so "
            "data parallelism over machines only pays with a per-machine batch of at least b*: "
            "global batch = N × b*, with the learning rate scaled to match (Goyal et al., 2017). "
            "For runs of the study (many independent trainings) `mpirun relulab study` scales "
            "without this limit: its runs exchange nothing but their finished files.", ""]
    pathlib.Path(a.doc).write_text("\n".join(out))


if __name__ == "__main__":
    main()
