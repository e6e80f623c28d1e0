#!/usr/bin/python3
"""PyTorch's CPU kernels on the activations, sizes and thread counts of bench/activation_bench.

Forward runs the aten op users reach through torch.nn.functional (F.relu is aten::relu, ...), in
its out= form so that no call allocates: the timing is the kernel's, not malloc's (at 2^26 floats
a fresh 256 MiB output would be page-faulted in on every call). Backward runs the aten
*_backward op of the activation given x, in its grad_input= form where it has one;
backward_from_output runs it given y = f(x) where the op accepts the output (PyTorch has sigmoid
and tanh backward only from the output, so those have no "backward" entry).

Each timing is the median over repetitions, each repetition calling the op until it has run for
min_time seconds. Bytes counted as in bench/throughput.hpp: forward 8 B per element, backward 12.

With --device cuda the same ops run on the GPU at bench/cuda_activation_bench.cpp's sizes
(2^20, 2^24, 2^26, 2^28 floats; --quick: 2^20 and 2^24), timed with torch.cuda.synchronize()
around each repetition, threads recorded as 0. Debian's python3-torch is CPU-only: this needs a
CUDA build of PyTorch, and exits with status 1 where torch.cuda.is_available() is false.

Usage: /usr/bin/python3 bench/torch_activations.py --out torch.json [--quick] [--filter REGEX]
           [--device cpu|cuda]
(Debian's python3-torch is installed for /usr/bin/python3.)
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

import torch

aten = torch.ops.aten

# As bench/activation_bench.cpp's full plan.
REPETITIONS = 9
MIN_TIME = 0.02
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# relulab table name -> (forward(x, y), backward(x, y, dy, dx), backward_from_output(y, dy, dx)),
# where backward gets y = f(x) too (computed before it runs) but a from-x op reads only x and dy.
# PyTorch defaults (leaky 0.01, ELU/CELU alpha 1, softplus beta 1 threshold 20, PReLU 0.25).
# None: PyTorch has no such op. Every lambda writes its result into y or dx.
TORCH_OPS = {
    # aten::relu.out allocates a temporary (0.5 GB/s at 2^26); relu is clamp_min(x, 0) inside.
    "relu": (
        lambda x, y: aten.clamp_min.out(x, 0.0, out=y),
        lambda x, y, dy, dx: aten.threshold_backward.grad_input(dy, x, 0, grad_input=dx),
        lambda y, dy, dx: aten.threshold_backward.grad_input(dy, y, 0, grad_input=dx),
    ),
    "leaky_relu": (
        lambda x, y: aten.leaky_relu.out(x, 0.01, out=y),
        lambda x, y, dy, dx: aten.leaky_relu_backward.grad_input(
            dy, x, 0.01, False, grad_input=dx),
        lambda y, dy, dx: aten.leaky_relu_backward.grad_input(dy, y, 0.01, True, grad_input=dx),
    ),
    # One shared slope is leaky_relu's math: aten::prelu allocates its result inside, and autograd's
    # prelu_backward also reduces the slope gradient.
    "prelu": (
        lambda x, y: aten.leaky_relu.out(x, 0.25, out=y),
        lambda x, y, dy, dx: aten.leaky_relu_backward.grad_input(
            dy, x, 0.25, False, grad_input=dx),
        None,
    ),
    "relu6": (
        lambda x, y: aten.hardtanh.out(x, 0.0, 6.0, out=y),
        lambda x, y, dy, dx: aten.hardtanh_backward.grad_input(dy, x, 0.0, 6.0, grad_input=dx),
        lambda y, dy, dx: aten.hardtanh_backward.grad_input(dy, y, 0.0, 6.0, grad_input=dx),
    ),
    "elu": (
        lambda x, y: aten.elu.out(x, 1.0, 1.0, 1.0, out=y),
        lambda x, y, dy, dx: aten.elu_backward.grad_input(
            dy, 1.0, 1.0, 1.0, False, x, grad_input=dx),
        lambda y, dy, dx: aten.elu_backward.grad_input(dy, 1.0, 1.0, 1.0, True, y, grad_input=dx),
    ),
    # aten::selu has no out= form; it is elu(alpha, scale) inside, which this calls directly.
    "selu": (
        lambda x, y: aten.elu.out(x, SELU_ALPHA, SELU_SCALE, 1.0, out=y),
        lambda x, y, dy, dx: aten.elu_backward.grad_input(
            dy, SELU_ALPHA, SELU_SCALE, 1.0, False, x, grad_input=dx),
        lambda y, dy, dx: aten.elu_backward.grad_input(
            dy, SELU_ALPHA, SELU_SCALE, 1.0, True, y, grad_input=dx),
    ),
    "celu": (
        lambda x, y: aten.celu.out(x, 1.0, out=y),
        lambda x, y, dy, dx: aten.elu_backward.grad_input(
            dy, 1.0, 1.0, 1.0, False, x, grad_input=dx),
        lambda y, dy, dx: aten.elu_backward.grad_input(dy, 1.0, 1.0, 1.0, True, y, grad_input=dx),
    ),
    "gelu": (
        lambda x, y: aten.gelu.out(x, approximate="none", out=y),
        lambda x, y, dy, dx: aten.gelu_backward.grad_input(
            dy, x, approximate="none", grad_input=dx),
        None,
    ),
    "gelu_tanh": (
        lambda x, y: aten.gelu.out(x, approximate="tanh", out=y),
        lambda x, y, dy, dx: aten.gelu_backward.grad_input(
            dy, x, approximate="tanh", grad_input=dx),
        None,
    ),
    "silu": (
        lambda x, y: aten.silu.out(x, out=y),
        lambda x, y, dy, dx: aten.silu_backward.grad_input(dy, x, grad_input=dx),
        None,
    ),
    # aten::mish_backward has no out= form: it allocates dx on every call.
    "mish": (
        lambda x, y: aten.mish.out(x, out=y),
        lambda x, y, dy, dx: aten.mish_backward(dy, x),
        None,
    ),
    "softplus": (
        lambda x, y: aten.softplus.out(x, 1.0, 20.0, out=y),
        lambda x, y, dy, dx: aten.softplus_backward.grad_input(dy, x, 1.0, 20.0, grad_input=dx),
        None,
    ),
    "hardsigmoid": (
        lambda x, y: aten.hardsigmoid.out(x, out=y),
        lambda x, y, dy, dx: aten.hardsigmoid_backward.grad_input(dy, x, grad_input=dx),
        None,
    ),
    # hardswish_backward.out allocates inside (page faults at 2^26, as aten::mish_backward).
    "hardswish": (
        lambda x, y: aten.hardswish.out(x, out=y),
        lambda x, y, dy, dx: aten.hardswish_backward.out(dy, x, out=dx),
        None,
    ),
    # PyTorch differentiates sigmoid and tanh from the output only.
    "sigmoid": (
        lambda x, y: aten.sigmoid.out(x, out=y),
        None,
        lambda y, dy, dx: aten.sigmoid_backward.grad_input(dy, y, grad_input=dx),
    ),
    "tanh": (
        lambda x, y: aten.tanh.out(x, out=y),
        None,
        lambda y, dy, dx: aten.tanh_backward.grad_input(dy, y, grad_input=dx),
    ),
}


def median_seconds(call, repetitions, min_time, sync=lambda: None):
    """Median seconds per call over repetitions of >= min_time seconds each; sync() waits for the
    device (a GPU runs the calls asynchronously)."""
    call()
    calls = 1
    while True:
        sync()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
        calls = max(calls * 2, int(calls * min_time / max(elapsed, 1e-9) * 1.2))
    seconds = [elapsed / calls]
    for _ in range(repetitions - 1):
        sync()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        sync()
        seconds.append((time.perf_counter() - start) / calls)
    return statistics.median(seconds)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def measure_shape(log2n, threads, pattern, repetitions, min_time, device="cpu"):
    """Times every op of TORCH_OPS (and a copy) on 2^log2n floats; returns the result records."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if device == "cpu":
        torch.set_num_threads(threads)
    n = 1 << log2n
    x = torch.empty(n, device=device).uniform_(-8.0, 8.0)
    dy = torch.empty(n, device=device).uniform_(-1.0, 1.0)
    y, dx = torch.empty(n, device=device), torch.empty(n, device=device)
    suffix = f"log2n:{log2n}/threads:{threads}"
    results = []

    def measure(pass_name, kernel, bytes_per_element, call):
        if not pattern.search(f"{pass_name}/{kernel}/{suffix}"):
            return
        seconds = median_seconds(call, repetitions, min_time, sync)
        results.append({
            "impl": "pytorch", "pass": pass_name, "kernel": kernel, "log2n": log2n,
            "threads": threads, "seconds": seconds, "gelem_per_s": n / seconds * 1e-9,
            "gbps": bytes_per_element * n / seconds * 1e-9,
        })
        print(f"pytorch/{pass_name}/{kernel}/{suffix}: {results[-1]['gbps']:.1f} GB/s",
              flush=True)

    measure("forward", "copy", 8, lambda: y.copy_(x))
    for kernel, (forward, backward, from_output) in TORCH_OPS.items():
        measure("forward", kernel, 8, lambda: forward(x, y))
        forward(x, y)
        if backward is not None:
            measure("backward", kernel, 12, lambda: backward(x, y, dy, dx))
        if from_output is not None:
            measure("backward_from_output", kernel, 12, lambda: from_output(y, dy, dx))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="the two smallest sizes only")
    parser.add_argument("--filter", default="", help="regex on 'pass/activation/log2n:N/threads:T'")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()

    pattern = re.compile(args.filter)
    torch.manual_seed(42)
    results = []
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("torch_activations.py: this PyTorch has no usable CUDA device "
                  f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})",
                  file=sys.stderr)
            return 1
        sizes = [20, 24] if args.quick else [20, 24, 26, 28]
        repetitions, min_time = (5, 0.005) if args.quick else (11, 0.005)
        for log2n in sizes:
            results += measure_shape(log2n, 0, pattern, repetitions, min_time, "cuda")
        context = {"torch": torch.__version__, "cuda": torch.version.cuda,
                   "device": torch.cuda.get_device_name(), "repetitions": repetitions,
                   "min_time": min_time}
    else:
        sizes = [14, 18] if args.quick else [14, 18, 22, 26]
        repetitions, min_time = (3, 0.01) if args.quick else (REPETITIONS, MIN_TIME)
        for threads in (1, 2):
            for log2n in sizes:
                results += measure_shape(log2n, threads, pattern, repetitions, min_time)
        context = {
            "torch": torch.__version__,
            "parallel": torch.__config__.parallel_info().splitlines()[-1].strip(),
            "cpu": cpu_model(),
            "repetitions": repetitions,
            "min_time": min_time,
        }
    with open(args.out + ".tmp", "w") as f:
        json.dump({"context": context, "results": results}, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
