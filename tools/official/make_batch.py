#!/usr/bin/env python3
"""Writes a batch file (safetensors, the `mixbench mix` names) of B real CIFAR-10 test images with
a real input gradient, so that mixbench's benches (`SAGE_BENCH_INPUT`, `PUZZLEMIX_BENCH_INPUT`,
`COMIXUP_BENCH_INPUT`) and tools/official/time_official.py time the same inputs.

    python3 tools/official/make_batch.py --sage PATH/TO/SAGE --out /tmp/batch.safetensors \\
        [--per-class 10] [--peak 1] [--seed 0] [--cifar ../shared/datasets/cifar10-jpeg.tar.gz]

Contents:
- `images` f32 `[B, 3, 32, 32]`: files `test/<class>/0000.jpg` ... of every class (the first
  `--per-class` files of each, sorted paths; B = 100 by default), `ToTensor` then `Normalize`
  with the CIFAR-10 mean and std of the official `load_data.py`; `labels` i64 `[B]` (sorted
  class names); `mean`, `std` f32 `[3]`.
- `grad` f32 `[B, 3, 32, 32]`: the input gradient of SAGE's saliency pass as its `main.py`
  computes it, from the user's SAGE checkout: `models/preresnet.py::preactresnet18(num_classes=10)`,
  random initialisation after `torch.manual_seed(0)`, train mode,
  `nn.BCELoss()(nn.Softmax(dim=1)(model(x)), one_hot(labels)) * (1 - 0.7)`, backward (the
  recipe of the SAGE parity fixture, on B images). An untrained network's gradient is nearly
  flat; `--peak K` (> 1) sharpens it per image as `g * (|g| / max|g|)^(K - 1)` (same maximum,
  peaks K times steeper), for timing the graph cuts on peaked saliency. Default 1: unchanged.
- `perm` i64 `[B]` = `np.random.permutation(B)` and `lam` f64 `[1]` = `np.random.beta(1, 1)`
  after `np.random.seed(--seed)`: the partner pairing and raw lambda both sides use where the
  method takes them as inputs (Puzzle Mix; SAGE's official `sage()` draws its own pairing).

Runs on CPU with torch's kernels capped at AVX2 (cpu_isa.py), so the file is the same on every
x86-64 machine given the versions in requirements.txt.
"""
import cpu_isa  # noqa: F401  (first: pins torch's CPU kernels to AVX2 before torch loads)

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from common import CIFAR10_CLASSES, MEAN, STD, default_cifar, normalize, read_jpegs, stub_module

NUM_CLASSES = 10
UPDATE_RATIO = 0.7


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sage", required=True, help="checkout of SamsungLabs/SAGE (for its PreActResNet18)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cifar", default=default_cifar())
    parser.add_argument("--per-class", type=int, default=10, help="images per class (B = 10 x this)")
    parser.add_argument("--peak", type=float, default=1.0, help="sharpen the gradient: g * (|g|/max|g|)^(K-1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of perm and lam")
    args = parser.parse_args()

    for name in ["wandb", "ipdb", "gco"]:
        stub_module(name)
    stub_module("tqdm").trange = range
    sys.path.insert(0, os.path.abspath(args.sage))
    from models.preresnet import preactresnet18

    files = [f"{i:04d}.jpg" for i in range(args.per_class)]
    rgb, labels = read_jpegs(args.cifar, CIFAR10_CLASSES, files)
    images = normalize(rgb)
    labels = torch.tensor(labels, dtype=torch.int64)
    batch = len(labels)

    torch.manual_seed(0)
    model = preactresnet18(num_classes=NUM_CLASSES)
    model.train()
    x = images.clone().requires_grad_(True)
    loss = nn.BCELoss()(nn.Softmax(dim=1)(model(x)), F.one_hot(labels, NUM_CLASSES).float())
    loss *= 1 - UPDATE_RATIO
    loss.backward()
    grad = x.grad.detach().clone()
    if args.peak != 1.0:
        peak = grad.abs().amax(dim=(1, 2, 3), keepdim=True)
        grad = grad * (grad.abs() / peak) ** (args.peak - 1.0)

    np.random.seed(args.seed)
    perm = np.random.permutation(batch)
    lam = np.random.beta(1.0, 1.0)
    out = {
        "images": images, "labels": labels, "grad": grad,
        "mean": torch.tensor(MEAN, dtype=torch.float32), "std": torch.tensor(STD, dtype=torch.float32),
        "perm": torch.from_numpy(perm.astype(np.int64)), "lam": torch.tensor([lam], dtype=torch.float64),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file({k: v.contiguous() for k, v in out.items()}, args.out)
    print(f"wrote {args.out}: B = {batch}, peak {args.peak}, lam {lam:.6f}")


if __name__ == "__main__":
    main()
