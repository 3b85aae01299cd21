#!/usr/bin/env python3
"""Regenerates methods/comixup/tests/fixtures/official_comixup.safetensors: the official Co-Mixup
mixing step (snu-mllab/Co-Mixup `mixup.py::mixup_process`, which calls
`match.py::get_onehot_matrix` and `mix_input`) on real CIFAR-10 images and the input gradient
of the repository's own saliency pass, for methods/comixup/tests/official_parity.rs.

The official code is imported from the user's own checkout (never copied here):

    python3 tools/official/comixup_fixture.py --comixup PATH/TO/Co-Mixup \\
        [--cifar ../shared/datasets/cifar10-jpeg.tar.gz] [--out methods/comixup/tests/fixtures/official_comixup.safetensors]

Requires gco-wrapper 3.0.9 (pyGCO; the PyPI source tarball builds with a C++ compiler and
Cython). Runs on CPU, sequentially (`mixup.py`, not `mixup_parallel.py`), with torch's kernels
capped at AVX2 (see cpu_isa.py). The official functions run unmodified; `get_onehot_matrix` is
wrapped in `mixup.py`'s namespace only to pass `device='cpu'` (`mixup_process` hard-codes
`'cuda'`), to pass `idx` in the deterministic cases, and to record its inputs and output;
`utils.py`'s unused `matplotlib` import is stubbed. The recipe (files, seeds, settings, calls)
is the one in methods/comixup/tests/fixtures/README.md.
"""
import cpu_isa  # noqa: F401  (first: pins torch's CPU kernels to AVX2 before torch loads)

import argparse
import os
import sys
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from common import MEAN, STD, default_cifar, normalize, read_jpegs, repo_root, stub_module

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FILES = ["0000.jpg", "0001.jpg", "0002.jpg", "0003.jpg"]
NUM_CLASSES = 10
CLEAN_LAM = 1.0  # main.py default --clean_lam
PART = 20  # --m_part
BLOCKS = 4  # --m_block_num


def settings(eta):
    """main.py's CIFAR defaults, with --m_eta as given."""
    return SimpleNamespace(
        m_part=PART, m_block_num=BLOCKS, m_omega=0.001, m_beta=0.32, m_gamma=1.0, m_thres=0.83,
        m_thres_type="hard", set_resolve=True, m_niter=4, mixup_alpha=2.0, m_eta=eta,
    )


class Wrapper:
    """Stands in for `get_onehot_matrix` in `mixup.py`'s namespace: passes `device='cpu'` and
    the next given start labelling (if any) to the official function; records, per partition,
    the objective (`obj_fn` on the cost matrix as the call leaves it) and the returned mask."""

    def __init__(self, mixup, match):
        self.official, self.obj_fn = match.get_onehot_matrix, match.obj_fn
        self.inits, self.masks, self.objectives = [], [], []
        mixup.get_onehot_matrix = self

    def __call__(self, cost_matrix, A, n_output, **kwargs):
        kwargs["device"] = "cpu"
        if self.inits:
            kwargs["idx"] = torch.tensor(self.inits.pop(0))
        mask = self.official(cost_matrix, A, n_output, **kwargs)
        self.objectives.append(self.obj_fn(cost_matrix, mask, 0.32 / 16, 1.0 / 16).item())
        self.masks.append(mask.clone())
        return mask

    def take(self):
        masks, objectives = self.masks, self.objectives
        self.masks, self.objectives = [], []
        return masks, torch.tensor(objectives, dtype=torch.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comixup", required=True, help="checkout of snu-mllab/Co-Mixup")
    parser.add_argument("--cifar", default=default_cifar())
    parser.add_argument(
        "--out",
        default=os.path.join(repo_root(), "methods", "comixup", "tests", "fixtures", "official_comixup.safetensors"),
    )
    args = parser.parse_args()
    matplotlib = stub_module("matplotlib")  # utils.py: `import matplotlib; matplotlib.use('agg')`
    matplotlib.use = lambda *a, **k: None
    matplotlib.pyplot = stub_module("matplotlib.pyplot")
    sys.path.insert(0, os.path.abspath(args.comixup))
    import match
    import mixup
    import models
    from utils import distance, to_one_hot

    rgb, labels = read_jpegs(args.cifar, CLASSES, FILES)
    images = normalize(rgb)
    labels = torch.tensor(labels, dtype=torch.int64)
    batch = len(labels)

    # main.py's saliency pass with clean_lam = 1: train mode, scaled cross-entropy, backward.
    torch.manual_seed(0)
    model = models.preactresnet18(NUM_CLASSES, False, 1)
    model.train()
    x = images.clone().requires_grad_(True)
    loss_batch = 2 * CLEAN_LAM * nn.CrossEntropyLoss(reduction="none")(model(x), labels) / NUM_CLASSES
    torch.mean(loss_batch, dim=0).backward()
    grad = x.grad.detach().clone()
    sc = torch.sqrt(torch.mean(grad**2, dim=1))

    # main.py's compatibility distance between the most salient locations.
    with torch.no_grad():
        z = F.avg_pool2d(sc, kernel_size=8, stride=1)
        z_idx_1d = torch.argmax(z.reshape(batch, -1), dim=1)
        z_idx_2d = torch.zeros((batch, 2))
        z_idx_2d[:, 0] = z_idx_1d // z.shape[-1]
        z_idx_2d[:, 1] = z_idx_1d % z.shape[-1]
        a_dist = distance(z_idx_2d, dist_type="l1")
    sharp_sc = sc**4
    target = to_one_hot(labels, NUM_CLASSES, device="cpu")

    out = {"images": images, "labels": labels, "mean": torch.tensor(MEAN, dtype=torch.float32),
           "std": torch.tensor(STD, dtype=torch.float32), "grad": grad, "sc": sc, "a_dist": a_dist,
           "sharp_sc": sharp_sc}
    wrapper = Wrapper(mixup, match)

    def deterministic(name, seed, saliency):
        np.random.seed(seed)
        inits = [match.random_initialize(PART, PART, BLOCKS, BLOCKS) for _ in range(batch // PART)]
        wrapper.inits = list(inits)
        torch.manual_seed(seed)
        mixed, targets = mixup.mixup_process(images.clone(), target.clone(), args=settings(0.0), sc=saliency,
                                             A_dist=a_dist)
        masks, objectives = wrapper.take()
        assign = torch.zeros(batch, BLOCKS, BLOCKS, batch)
        for p, mask in enumerate(masks):
            assign[p * PART:(p + 1) * PART, :, :, p * PART:(p + 1) * PART] = mask
        out[f"{name}_init"] = torch.from_numpy(np.concatenate(inits).astype(np.int64))
        out[f"{name}_assign"] = assign
        out[f"{name}_objective"] = objectives
        out[f"{name}_mixed"] = mixed
        out[f"{name}_targets"] = targets
        print(f"{name}: objectives {objectives.tolist()}")

    for s in range(4):
        deterministic(f"det{s}", s, sc)
    for s in range(2):
        deterministic(f"sharpdet{s}", 100 + s, sharp_sc)

    prior = []
    for seed in range(50):
        np.random.seed(seed)
        torch.manual_seed(seed)
        mixup.mixup_process(images.clone(), target.clone(), args=settings(0.05), sc=sc, A_dist=a_dist)
        prior.append(wrapper.take()[1])
    out["prior_objective"] = torch.stack(prior)
    print("prior_objective: min", out["prior_objective"].min().item(), "max", out["prior_objective"].max().item())

    out = {k: v.detach().contiguous() for k, v in out.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(out, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
