#!/usr/bin/env python3
"""Times the official mixing steps on a batch file (make_batch.py; the `mixbench mix` names:
`images` f32 [B,3,32,32], `labels` i64 [B], `grad` f32 [B,3,32,32], optional `perm`, `lam`,
`mean`, `std`) and prints one CSV row per step on stdout:
method,setting,threads,reps,median_ms,min_ms,max_ms.

    python3 tools/official/time_official.py --batch /tmp/batch.safetensors \\
        [--sage PATH/TO/SAGE] [--puzzlemix PATH/TO/PuzzleMix] [--comixup PATH/TO/Co-Mixup] \\
        [--threads 2] [--warmup 1] [--reps 5] [--puzzlemix-pool 0]

Each checkout given is timed; the official code is imported from it (never copied here), each
repository's modules in their own namespace (all three have a `mixup.py`). Every step is
called `--warmup` times untimed, then `--reps` times, each call timed alone with
`time.perf_counter`; torch runs with `torch.set_num_threads(--threads)`. torch's kernels are
not pinned (unlike the fixture scripts): this times what the machine runs by default.

Steps (B from the batch file; all on the CPU):
- `sage`, `rand_pos=0.01`: as SAGE `main.py` runs it after the saliency backward pass:
  `s = grad.abs().mean(dim=1, keepdim=True)`, `s_tilde = GaussianBlur((5, 5), (1.0, 1.0))(s)`
  (the blurrer built once, as main.py does per epoch), then
  `sage(x, labels, s_tilde, alpha=lam * 0.5, rand_pos=0.01)` with `x` the images requiring
  grad (main.py passes the input Variable it took the gradient of, so autograd records the
  mixing). `lam` from the batch file (else 0.5); `upper_lambda` 0.5, the CIFAR commands'.
- `puzzlemix`, `block_num=n` for n in 2, 4, 8, 16: `unary = sqrt(mean_c grad^2)` then
  `mixup_graph(images, unary, perm, block_num=n, alpha=lam, beta=1.2, gamma=0.5, eta=0.2,
  neigh_size=4, n_labels=3, mean, std, transport=True, t_eps=0.8, t_size=4, device='cpu',
  mp=...)` (the CIFAR command's settings); `perm`, `lam`, `mean`, `std` from the batch file
  (else seeded / 0.5 / CIFAR-10 constants). `--puzzlemix-pool N` > 0 hands the graph cuts to a
  `multiprocessing.Pool(N)` as PuzzleMix's `main.py --mp N` does (its default is 8); 0 runs
  them in the calling process.
- `comixup`, `mixup_process` per batch: as Co-Mixup `main.py` runs it after the saliency
  pass: `sc = sqrt(mean_c grad^2)`, the compatibility `A_dist` (arg-max of
  `avg_pool2d(sc, 8, stride=1)`, `distance(.., 'l1')`), `to_one_hot(labels)`, then
  `mixup_process(images, targets, args, sc=sc, A_dist=A_dist)` sequentially (main.py
  `--parallel False`) with the CIFAR defaults (`m_part 20`, `m_block_num 4`, `m_eta 0.05`,
  ...). `get_onehot_matrix` is wrapped in `mixup.py`'s namespace only to pass
  `device='cpu'` (`mixup_process` hard-codes `'cuda'`) and to time it: the row
  `comixup,get_onehot_matrix` is the summed time of its B / 20 calls within each timed
  `mixup_process` call.
"""
import argparse
import csv
import multiprocessing
import os
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from common import MEAN, STD, stub_module

# Module names the official repositories share (each has its own mixup.py, models/, ...).
SHARED_NAMES = ["mixup", "models", "utils", "match", "load_data", "logger", "utils_SAGE", "mixup_parallel"]


def import_from(path, names):
    """Imports `names` from the checkout at `path` and forgets the repository's modules
    afterwards, so that the next repository's `mixup` is its own."""
    def forget():
        for key in list(sys.modules):
            if key.split(".")[0] in SHARED_NAMES:
                del sys.modules[key]

    forget()
    sys.path.insert(0, os.path.abspath(path))
    try:
        return [__import__(n, fromlist=["_"]) for n in names]
    finally:
        sys.path.remove(os.path.abspath(path))
        forget()


def timed(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", required=True, help="batch file (make_batch.py)")
    parser.add_argument("--sage", help="checkout of SamsungLabs/SAGE")
    parser.add_argument("--puzzlemix", help="checkout of snu-mllab/PuzzleMix")
    parser.add_argument("--comixup", help="checkout of snu-mllab/Co-Mixup")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--puzzlemix-pool", type=int, default=0, help="Pool(N) for the graph cuts; 0: in process")
    args = parser.parse_args()
    if not (args.sage or args.puzzlemix or args.comixup):
        parser.error("give at least one of --sage, --puzzlemix, --comixup")
    torch.set_num_threads(args.threads)

    t = load_file(args.batch)
    images, labels, grad = t["images"], t["labels"], t["grad"]
    batch = len(labels)
    lam = float(t["lam"].reshape(-1)[0]) if "lam" in t else 0.5
    if "perm" in t:
        perm = t["perm"].numpy()
    else:
        np.random.seed(0)
        perm = np.random.permutation(batch)
    mean = t.get("mean", torch.tensor(MEAN)).reshape(1, 3, 1, 1)
    std = t.get("std", torch.tensor(STD)).reshape(1, 3, 1, 1)

    # Imports the official code never uses in these steps.
    for name in ["wandb", "ipdb", "tqdm"]:
        stub_module(name)
    sys.modules["tqdm"].trange = range
    matplotlib = stub_module("matplotlib")
    matplotlib.use = lambda *a, **k: None
    matplotlib.pyplot = stub_module("matplotlib.pyplot")

    writer = csv.writer(sys.stdout)
    writer.writerow(["method", "setting", "threads", "reps", "median_ms", "min_ms", "max_ms"])

    def row(method, setting, times):
        writer.writerow([method, setting, args.threads, len(times), f"{statistics.median(times):.2f}",
                         f"{min(times):.2f}", f"{max(times):.2f}"])
        sys.stdout.flush()

    if args.sage:
        from torchvision import transforms

        try:
            import gco  # noqa: F401  (SAGE's mixup.py imports it; never called by sage())
        except ImportError:
            stub_module("gco")
        (utils_sage,) = import_from(args.sage, ["utils_SAGE"])
        blurrer = transforms.GaussianBlur(kernel_size=(5, 5), sigma=(1.0, 1.0))

        def sage_step():
            x = images.clone().requires_grad_(True)
            s = grad.abs().mean(dim=1, keepdim=True).detach()
            s_tilde = blurrer(s)
            return utils_sage.sage(x, labels, s_tilde, alpha=lam * 0.5, rand_pos=0.01)

        row("sage", "rand_pos=0.01", timed(sage_step, args.warmup, args.reps))

    if args.puzzlemix:
        (pm_mixup,) = import_from(args.puzzlemix, ["mixup"])
        # Pool.starmap pickles `graphcut_multi` by its name `mixup.graphcut_multi`.
        sys.modules["mixup"] = pm_mixup
        pool = multiprocessing.Pool(args.puzzlemix_pool) if args.puzzlemix_pool > 0 else None
        for n in [2, 4, 8, 16]:
            def puzzle_step(n=n):
                unary = torch.sqrt(torch.mean(grad**2, dim=1))
                return pm_mixup.mixup_graph(
                    images.clone(), unary, perm, block_num=n, alpha=lam, beta=1.2, gamma=0.5, eta=0.2,
                    neigh_size=4, n_labels=3, mean=mean, std=std, transport=True, t_eps=0.8, t_size=4,
                    device="cpu", mp=pool,
                )

            setting = f"block_num={n}" + (f";pool={args.puzzlemix_pool}" if pool else "")
            row("puzzlemix", setting, timed(puzzle_step, args.warmup, args.reps))
        if pool:
            pool.close()
        del sys.modules["mixup"]

    if args.comixup:
        cm_mixup, cm_utils = import_from(args.comixup, ["mixup", "utils"])
        official = cm_mixup.get_onehot_matrix
        inner = []

        def get_onehot_matrix(*a, **kw):
            kw["device"] = "cpu"
            start = time.perf_counter()
            out = official(*a, **kw)
            inner.append((time.perf_counter() - start) * 1e3)
            return out

        cm_mixup.get_onehot_matrix = get_onehot_matrix
        settings = SimpleNamespace(
            m_part=20, m_block_num=4, m_omega=0.001, m_beta=0.32, m_gamma=1.0, m_thres=0.83,
            m_thres_type="hard", set_resolve=True, m_niter=4, mixup_alpha=2.0, m_eta=0.05,
        )
        per_call = []

        def comixup_step():
            inner.clear()
            sc = torch.sqrt(torch.mean(grad**2, dim=1))
            with torch.no_grad():
                z = F.avg_pool2d(sc, kernel_size=8, stride=1)
                z_idx_1d = torch.argmax(z.reshape(batch, -1), dim=1)
                z_idx_2d = torch.zeros((batch, 2))
                z_idx_2d[:, 0] = z_idx_1d // z.shape[-1]
                z_idx_2d[:, 1] = z_idx_1d % z.shape[-1]
                a_dist = cm_utils.distance(z_idx_2d, dist_type="l1")
            target = cm_utils.to_one_hot(labels, 10, device="cpu")
            out = cm_mixup.mixup_process(images.clone(), target, args=settings, sc=sc, A_dist=a_dist)
            per_call.append(sum(inner))
            return out

        np.random.seed(0)
        torch.manual_seed(0)
        times = timed(comixup_step, args.warmup, args.reps)
        row("comixup", f"mixup_process;B={batch}", times)
        row("comixup", f"get_onehot_matrix;B={batch}", per_call[args.warmup:])


if __name__ == "__main__":
    main()
