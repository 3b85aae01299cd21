#!/usr/bin/env python3
"""Regenerates harness/tests/fixtures/official_manifold.safetensors: the official Manifold
Mixup forward pass (SamsungLabs/SAGE: PreActResNet18, WRN16-8 and the ResNeXt29-4-24 class
`main.py` builds for non-SAGE methods, each called with `mixup_hidden=True`, which runs
`mixup.py::mixup_process`) on real CIFAR-10 images, for harness/tests/manifold.rs.

The official code is imported from the user's own checkout (never copied here):

    python3 tools/official/manifold_fixture.py --sage PATH/TO/SAGE \\
        [--cifar ../shared/datasets/cifar10-jpeg.tar.gz] [--out harness/tests/fixtures/official_manifold.safetensors]

Requirements: torch==2.11.0, numpy, pillow, safetensors (versions used are recorded in the
fixture's README). Runs on CPU; the official code hard-codes `device='cuda'` in `to_one_hot`
and `mixup_process`, so `torch.zeros`/`torch.ones` map that device to the CPU while it runs.

Weights: every tensor of the official model's state dict is filled by `test_init` below, a
counter-based formula that harness/tests/manifold.rs evaluates identically, so that the
fixture holds only inputs, draws and outputs (not 45 MB of weights).

Runs with torch's CPU kernels capped at AVX2 (see cpu_isa.py), like the other fixture scripts,
so that the bytes do not depend on whether the CPU has AVX-512.
"""
import cpu_isa  # noqa: F401  (first: pins torch's CPU kernels to AVX2 before torch loads)

import argparse
import hashlib
import io
import math
import os
import random
import sys
import tarfile
import types
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

CLASSES = ["airplane", "automobile", "bird", "cat"]
FILES = ["0002.jpg", "0003.jpg"]
MEAN = [x / 255 for x in [125.3, 123.0, 113.9]]
STD = [x / 255 for x in [63.0, 62.1, 66.7]]
NUM_CLASSES = 10
ALPHA = 2.0


def test_init(name, shape):
    """Deterministic weights: u_j = ((s + j * 2654435761) mod 2^32) / 2^32 with s the first four
    bytes (little-endian) of sha256(name); value = offset + scale * (2 u_j - 1) in float64,
    rounded to float32. Weights of rank >= 2: offset 0, scale 1/sqrt(fan_in);
    `running_var`: 1, 0.5; other `weight` (BN): 1, 0.1; `bias`, `running_mean`: 0, 0.1."""
    n = int(np.prod(shape))
    s = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    j = np.arange(n, dtype=np.uint64)
    u = ((np.uint64(s) + j * np.uint64(2654435761)) % np.uint64(2**32)).astype(np.float64) / 2.0**32
    if len(shape) >= 2:
        offset, scale = 0.0, 1.0 / math.sqrt(n / shape[0])
    elif name.endswith("running_var"):
        offset, scale = 1.0, 0.5
    elif name.endswith("weight"):
        offset, scale = 1.0, 0.1
    else:
        offset, scale = 0.0, 0.1
    return torch.from_numpy((offset + scale * (2.0 * u - 1.0)).astype(np.float32)).view(shape)


def load_images(path):
    images, labels = [], []
    with tarfile.open(path) as tar:
        names = {os.path.normpath(m.name): m for m in tar.getmembers() if m.isfile()}
        for label, cls in enumerate(CLASSES):
            for f in FILES:
                member = next(m for n, m in sorted(names.items()) if n.endswith(f"test/{cls}/{f}"))
                img = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")
                x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
                images.append((x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1))
                labels.append(label)
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def on_cpu(factory):
    def wrapped(*args, **kwargs):
        if kwargs.get("device") == "cuda":
            kwargs["device"] = "cpu"
        return factory(*args, **kwargs)
    return wrapped


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sage", required=True, help="checkout of SamsungLabs/SAGE")
    parser.add_argument("--cifar", default=os.path.join(root, "..", "shared", "datasets", "cifar10-jpeg.tar.gz"))
    parser.add_argument("--out", default=os.path.join(root, "harness", "tests", "fixtures", "official_manifold.safetensors"))
    args = parser.parse_args()

    # `mixup.py` imports the graph-cut package `gco` for Puzzle Mix; Manifold Mixup never calls it.
    sys.modules.setdefault("gco", types.ModuleType("gco"))
    sys.path.insert(0, os.path.abspath(args.sage))
    torch.zeros, torch.ones = on_cpu(torch.zeros), on_cpu(torch.ones)
    from models.preresnet import preactresnet18
    from models.resnext import resnext29_4_24_new
    from models.wide_resnet import wrn16_8

    images, labels = load_images(args.cifar)
    out = {"images": images.contiguous(), "labels": labels}
    # mixbench's model names, and the official constructors `main.py` calls for them.
    for model_name, build in [
        ("preact_resnet18", preactresnet18),
        ("wrn16_8", wrn16_8),
        ("resnext29_4_24", resnext29_4_24_new),
    ]:
        model = build(num_classes=NUM_CLASSES)
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                if not name.endswith("num_batches_tracked"):
                    tensor.copy_(test_init(name, tuple(tensor.shape)))
        model.train()
        run_cases(model, model_name, images, labels, out)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    save_file(out, args.out)
    print(f"wrote {args.out}")


def run_cases(model, model_name, images, labels, out):
    """One mixed forward pass per mixing layer 0, 1, 2 (cases a, b, c), stored under
    `<model_name>.<case>.<field>`. Each case uses the first seed whose official layer draw
    `random.randint(0, 2)` gives its layer."""
    mix_args = SimpleNamespace(
        mixup_alpha=ALPHA, in_batch=False, mean=None, std=None, box=False, graph=False,
        beta=None, gamma=None, eta=None, neigh_size=None, n_labels=None, transport=False,
        t_eps=None, t_size=None,
    )
    for case, layer in zip("abc", range(3)):
        seed = next(s for s in range(1000) if random.Random(s).randint(0, 2) == layer)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        logits, targets = model(images.clone(), labels, mixup_hidden=True, args=mix_args)
        # Replay the draws of `mixup_process`: block_num (unused), permutation, lambda.
        np.random.seed(seed)
        np.random.randint(1, 5)
        perm = np.random.permutation(len(labels))
        lam = np.random.beta(ALPHA, ALPHA)
        key = f"{model_name}.{case}."
        out[key + "layer"] = torch.tensor([layer], dtype=torch.int64)
        out[key + "perm"] = torch.from_numpy(perm.astype(np.int64))
        out[key + "lam"] = torch.tensor([lam], dtype=torch.float64)
        out[key + "logits"] = logits.detach().contiguous()
        out[key + "targets"] = targets.detach().contiguous()
        print(f"{model_name} case {case}: seed {seed}, layer {layer}, lam {lam:.6f}, perm {perm.tolist()}")


if __name__ == "__main__":
    main()
