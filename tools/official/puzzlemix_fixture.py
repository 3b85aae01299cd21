#!/usr/bin/env python3
"""Regenerates methods/puzzlemix/tests/fixtures/official_puzzlemix.safetensors: the official Puzzle
Mix mixing step (snu-mllab/PuzzleMix `mixup.py::mixup_graph`, which calls `graphcut_multi`,
`mask_transport`, `transport_image`) on real CIFAR-10 images and the input gradient of the
repository's own saliency pass, for methods/puzzlemix/tests/official_parity.rs.

The official code is imported from the user's own checkout (never copied here):

    python3 tools/official/puzzlemix_fixture.py --puzzlemix PATH/TO/PuzzleMix \\
        [--cifar ../shared/datasets/cifar10-jpeg.tar.gz] [--out methods/puzzlemix/tests/fixtures/official_puzzlemix.safetensors]

Requires gco-wrapper 3.0.9 (pyGCO; the PyPI source tarball builds with a C++ compiler and
Cython). Runs on CPU (without CUDA the module-level `device` of `mixup.py` is `'cpu'`; the
calls pass `device='cpu', mp=None`, so the graph cuts run sequentially), with torch's kernels
capped at AVX2 (see cpu_isa.py). The official functions run unmodified; `graphcut_multi` and
`gco` are wrapped in `mixup.py`'s namespace only to record the masks each call returns and the
integer unary energies handed to GCO. The recipe (files, seeds, calls) is the one in
methods/puzzlemix/tests/fixtures/README.md.
"""
import cpu_isa  # noqa: F401  (first: pins torch's CPU kernels to AVX2 before torch loads)

import argparse
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

from common import MEAN, STD, default_cifar, normalize, read_jpegs, repo_root

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse"]
FILES = ["0000.jpg", "0001.jpg"]
NUM_CLASSES = 10
# GCO multiplies the integer unary energies by 100000 in i32; above this they wrap.
I32_SAFE_UNARY = (2**31 - 1) // 100000


class Recorder:
    """Wraps `mixup.graphcut_multi` and `mixup.gco` to keep what each call returns / receives."""

    def __init__(self, mixup):
        self.masks, self.overflow = [], []
        official_cut, official_gco = mixup.graphcut_multi, mixup.gco

        def graphcut_multi(*args, **kwargs):
            mask = official_cut(*args, **kwargs)
            self.masks.append(mask)
            return mask

        def cut_grid_graph(unary_cost, *args, **kwargs):
            self.overflow.append(int((np.abs(unary_cost) > I32_SAFE_UNARY).sum()))
            return official_gco.cut_grid_graph(unary_cost, *args, **kwargs)

        mixup.graphcut_multi = graphcut_multi
        mixup.gco = types.SimpleNamespace(cut_grid_graph=cut_grid_graph)

    def take(self):
        masks, overflow = self.masks, self.overflow
        self.masks, self.overflow = [], []
        return torch.tensor(np.stack(masks), dtype=torch.float32), overflow


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puzzlemix", required=True, help="checkout of snu-mllab/PuzzleMix")
    parser.add_argument("--cifar", default=default_cifar())
    parser.add_argument(
        "--out",
        default=os.path.join(repo_root(), "methods", "puzzlemix", "tests", "fixtures", "official_puzzlemix.safetensors"),
    )
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.puzzlemix))
    import mixup
    import models

    rgb, labels = read_jpegs(args.cifar, CLASSES, FILES)
    images = normalize(rgb)
    labels = torch.tensor(labels, dtype=torch.int64)
    mean = torch.tensor(MEAN, dtype=torch.float32)
    std = torch.tensor(STD, dtype=torch.float32)

    # main.py's saliency pass with clean_lam = 0: eval mode, mean cross-entropy, backward.
    torch.manual_seed(0)
    model = models.preactresnet18(NUM_CLASSES, False, 1)
    model.eval()
    x = images.clone().requires_grad_(True)
    loss_batch = nn.CrossEntropyLoss(reduction="none")(model(x), labels)
    torch.mean(loss_batch, dim=0).backward()
    grad = x.grad.detach().clone()
    unary = torch.sqrt(torch.mean(grad**2, dim=1))
    sharp_unary = unary**4

    out = {"images": images, "labels": labels, "mean": mean, "std": std, "grad": grad, "unary": unary,
           "sharp_unary": sharp_unary}
    recorder = Recorder(mixup)

    def case(name, seed, block_num, saliency, adv=False):
        np.random.seed(seed)
        perm = np.random.permutation(len(labels))
        lam = np.random.beta(1.0, 1.0)
        extra = {}
        if adv:
            torch.manual_seed(seed)
            noise = torch.zeros_like(images).uniform_(-10 / 255, 10 / 255)
            extra = dict(noise=noise, adv_mask1=1, adv_mask2=1)
            out[f"{name}_noise"] = noise
        mixed, ratio = mixup.mixup_graph(
            images.clone(), saliency, perm, block_num=block_num, alpha=lam, beta=1.2, gamma=0.5, eta=0.2,
            neigh_size=4, n_labels=3, mean=mean.reshape(1, 3, 1, 1), std=std.reshape(1, 3, 1, 1),
            transport=True, t_eps=0.8, t_size=4, device="cpu", mp=None, **extra,
        )
        mask, overflow = recorder.take()
        out[f"{name}_perm"] = torch.from_numpy(perm.astype(np.int64))
        out[f"{name}_lam"] = torch.tensor([lam], dtype=torch.float64)
        out[f"{name}_block_num"] = torch.tensor([block_num], dtype=torch.int64)
        out[f"{name}_mask"] = mask
        out[f"{name}_mixed"] = mixed.detach()
        out[f"{name}_ratio"] = ratio.detach()
        print(f"{name}: seed {seed}, lam {lam:.6f}, unary energies > {I32_SAFE_UNARY}: {sum(overflow)} "
              f"({sum(n > 0 for n in overflow)} images)")

    for b in [2, 4, 8, 16]:
        for s in [0, 1]:
            case(f"bn{b}_{s}", 100 * b + s, b, unary)
    case("adv", 7, 4, unary, adv=True)
    for b in [2, 4, 8, 16]:
        case(f"sharp{b}", 1000 + b, b, sharp_unary)
    out = {k: v.contiguous() for k, v in out.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(out, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
