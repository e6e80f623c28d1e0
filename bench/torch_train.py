#!/usr/bin/python3
"""PyTorch side of the training benchmark: the models of bench/train_bench.cpp, trained the same way.

Same models (the MLP 784-512-512-10 and the small CNN, ReLU, PyTorch's default layers), same
synthetic Fashion-MNIST-shaped data (1x28x28 inputs, 10 classes), same batch, threads, optimiser
(SGD, lr 0.01, momentum 0.9) and step: zero_grad, forward, cross-entropy, backward, step.

Reports:
- images_per_second: median over repetitions of `steps` timed steps after `warmup` steps.
- saved_bytes: bytes autograd keeps for backward in one training forward at batch 512, counted
  with torch.autograd.graph.saved_tensors_hooks, each storage once, parameters excluded.
- rss_growth_bytes: growth of the process's peak RSS (getrusage ru_maxrss) from after the model
  and data exist to after `memory_steps` training steps at batch 512.

Usage: /usr/bin/python3 bench/torch_train.py --model mlp|cnn --threads 2 --batch 128 --out f.json
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                             nn.ReLU(), nn.Linear(512, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 10))
    raise SystemExit(f"unknown model {name}")


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def train_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


def saved_bytes(model, x):
    params = {p.data_ptr() for p in model.parameters()}
    seen = {}

    def pack(t):
        storage = t.storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(seen.values())


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=["mlp", "cnn"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--memory-batch", type=int, default=512)
    ap.add_argument("--memory-steps", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    model = make_model(args.model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = make_data(max(args.batch, args.memory_batch), 1)
    xb, yb = x[:args.batch].contiguous(), y[:args.batch].contiguous()
    xm, ym = x[:args.memory_batch].contiguous(), y[:args.memory_batch].contiguous()

    # Peak RSS first, before the timed runs raise it.
    rss_before = max_rss_bytes()
    for _ in range(args.memory_steps):
        train_step(model, opt, xm, ym)
    rss_growth = max_rss_bytes() - rss_before
    saved = saved_bytes(model, xm)

    for _ in range(args.warmup):
        train_step(model, opt, xb, yb)
    rates = []
    for _ in range(args.repetitions):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            train_step(model, opt, xb, yb)
        rates.append(args.steps * args.batch / (time.perf_counter() - t0))

    result = {
        "peer": "pytorch", "torch": torch.__version__, "model": args.model,
        "threads": args.threads, "batch": args.batch, "steps": args.steps,
        "repetitions": args.repetitions, "images_per_second": statistics.median(rates),
        "images_per_second_all": rates, "memory_batch": args.memory_batch,
        "saved_bytes": saved, "rss_growth_bytes": rss_growth,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
