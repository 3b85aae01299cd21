#!/usr/bin/env python3
"""Regenerates methods/sage/tests/fixtures/official_sage.safetensors: the official `sage()`
(SamsungLabs/SAGE `utils_SAGE.py`) with exhaustive search (`rand_pos = 1`) on real CIFAR-10
images and the input gradient of SAGE's own saliency pass, for methods/sage/tests/official_parity.rs.

The official code is imported from the user's own checkout (never copied here):

    python3 tools/official/sage_fixture.py --sage PATH/TO/SAGE \\
        [--cifar ../shared/datasets/cifar10-jpeg.tar.gz] [--out methods/sage/tests/fixtures/official_sage.safetensors]

Runs on CPU, with torch's kernels capped at AVX2 (see cpu_isa.py). The repository's imports that the mixing step never uses (`wandb`, `ipdb`, `gco`,
`tqdm`) are stubbed with empty modules; nothing of the official code is modified. The recipe
(files, seeds, calls) is the one in methods/sage/tests/fixtures/README.md.
"""
import cpu_isa  # noqa: F401  (first: pins torch's CPU kernels to AVX2 before torch loads)

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import default_cifar, normalize, read_jpegs, repo_root, save_json_layout, stub_module

CLASSES = ["airplane", "automobile", "bird", "cat"]
FILES = ["0002.jpg", "0003.jpg"]
NUM_CLASSES = 10
UPDATE_RATIO = 0.7  # SAGE's CIFAR setting: main.py scales the saliency loss by (1 - update_ratio)
KERNEL_SIZE, BLUR_SIGMA = 5, 1.0  # main.py defaults --kernel_size, --blur_sigma
CASES = [("a", 11, 0.5), ("b", 12, 1.0)]  # case, seed, upper_lambda


def import_official(path):
    for name in ["wandb", "ipdb", "gco"]:
        stub_module(name)
    stub_module("tqdm").trange = range
    sys.path.insert(0, os.path.abspath(path))
    from models.preresnet import preactresnet18
    from utils_SAGE import sage

    return preactresnet18, sage


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sage", required=True, help="checkout of SamsungLabs/SAGE")
    parser.add_argument("--cifar", default=default_cifar())
    parser.add_argument(
        "--out", default=os.path.join(repo_root(), "methods", "sage", "tests", "fixtures", "official_sage.safetensors")
    )
    args = parser.parse_args()
    preactresnet18, sage = import_official(args.sage)
    from torchvision import transforms

    rgb, labels = read_jpegs(args.cifar, CLASSES, FILES)
    images = normalize(rgb)
    labels = torch.tensor(labels, dtype=torch.int64)

    # main.py's saliency pass (train mode, BCE on the softmax against one-hot labels).
    torch.manual_seed(0)
    model = preactresnet18(num_classes=NUM_CLASSES)
    model.train()
    x = images.clone().requires_grad_(True)
    one_hot = F.one_hot(labels, NUM_CLASSES).float()
    loss = nn.BCELoss()(nn.Softmax(dim=1)(model(x)), one_hot)
    loss *= 1 - UPDATE_RATIO
    loss.backward()
    grad = x.grad.detach().clone()
    s = grad.abs().mean(dim=1, keepdim=True)
    s_tilde = transforms.GaussianBlur(kernel_size=(KERNEL_SIZE, KERNEL_SIZE), sigma=(BLUR_SIGMA, BLUR_SIGMA))(s)

    out = {"images": images, "labels": labels, "grad": grad, "s_tilde": s_tilde}
    for case, seed, upper in CASES:
        np.random.seed(seed)
        lam_raw = np.random.beta(1.0, 1.0)
        torch.manual_seed(seed)
        with torch.no_grad():
            mixed_x, _, mixed_lam = sage(images.clone(), labels, s_tilde.clone(), alpha=lam_raw * upper, rand_pos=1)
        torch.manual_seed(seed)
        perm = torch.randperm(len(labels))  # the first draw inside sage()
        out[f"{case}_lam_raw"] = torch.tensor([lam_raw], dtype=torch.float64)
        out[f"{case}_upper_lambda"] = torch.tensor([upper], dtype=torch.float64)
        out[f"{case}_mixed"] = mixed_x
        out[f"{case}_lam"] = mixed_lam[0]
        out[f"{case}_perm"] = perm
        print(f"case {case}: seed {seed}, lam_raw {lam_raw:.6f}, perm {perm.tolist()}")
    save_json_layout(out, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
