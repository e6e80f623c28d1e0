#!/usr/bin/env python3
"""Writes the "Training" section of docs/performance.md from bench/train_bench and
bench/torch_train.py results (build/bench/train_{relulab,torch}_{mlp,cnn}.json), between the
markers <!-- training:begin --> and <!-- training:end --> (appended when absent)."""
import argparse
import datetime
import json
import pathlib

BEGIN, END = "<!-- training:begin -->", "<!-- training:end -->"
MODELS = {"mlp": "MLP 784-512-512-10", "cnn": "CNN conv5x5(32)-pool-conv5x5(64)-pool-fc512-fc10"}
TARGETS = {"mlp": 2.0, "cnn": 1.2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--doc", required=True)
    a = ap.parse_args()
    d = pathlib.Path(a.dir)
    lines = [BEGIN, "## Training (relulab against PyTorch)", "",
             f"Measured by `{a.command}` on {datetime.date.today()}: ReLU, SGD (lr 0.01, momentum 0.9), "
             "synthetic 1x28x28 inputs, 10 classes. img/s is the median over 7 repetitions at batch 128; "
             "saved = bytes kept for backward after one training forward at batch 512 (relulab: "
             "`Sequential::saved()`; PyTorch: autograd's saved tensors, parameters excluded, each storage "
             "once); RSS = growth of peak RSS over 5 training steps at batch 512.", "",
             "| model | threads | relulab img/s | PyTorch img/s | × PyTorch (target) | saved relulab | saved PyTorch | ratio (target ≤ 0.5) | RSS growth relulab | RSS growth PyTorch |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m, name in MODELS.items():
        r = json.loads((d / f"train_relulab_{m}.json").read_text())
        t = json.loads((d / f"train_torch_{m}.json").read_text())
        speed = r["images_per_second"] / t["images_per_second"]
        saved = r["saved_bytes"] / t["saved_bytes"]
        ok = "met" if speed >= TARGETS[m] else "not met"
        saved_ok = "met" if saved <= 0.5 else "not met"
        lines.append(f"| {name} | {r['threads']} | {r['images_per_second']:,.0f} | {t['images_per_second']:,.0f} | "
                     f"{speed:.2f} (≥ {TARGETS[m]}: {ok}) | {r['saved_bytes'] / 2**20:.1f} MiB | "
                     f"{t['saved_bytes'] / 2**20:.1f} MiB | {saved:.2f} ({saved_ok if m == 'cnn' else 'no target'}) | "
                     f"{r['rss_growth_bytes'] / 2**20:.0f} MiB | {t['rss_growth_bytes'] / 2**20:.0f} MiB |")
    lines += ["", "All repetitions (img/s): " + "; ".join(
        f"{p} {m}: " + ", ".join(f"{x:,.0f}" for x in json.loads((d / f"train_{p}_{m}.json").read_text())["images_per_second_all"])
        for m in MODELS for p in ("relulab", "torch")), END]
    doc = pathlib.Path(a.doc)
    text = doc.read_text() if doc.exists() else ""
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    main()
