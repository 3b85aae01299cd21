#!/usr/bin/env python3
"""Regenerates harness/results/tests/fixtures/calibration/calibration_fixture.json: seeded
random logits and labels with the calibration figures of widely used packages, for
harness/results/tests/calibration_fixture.rs (mixbench's `calibration` measures, computed in
Rust from the same logits, must agree; see docs/calibration.md, *Independent check*).

    python3 tools/official/calibration_fixture.py \\
        [--out harness/results/tests/fixtures/calibration/calibration_fixture.json]

No official repository is needed. Packages (run with torch 2.11.0, torchmetrics 1.9.0, netcal
1.4.0, NumPy 2.4.6, SciPy 1.17.1, scikit-learn 1.9.1, Python 3.11.7; install them with
`pip install torch==2.11.0 torchmetrics==1.9.0 netcal==1.4.0 scipy==1.17.1 scikit-learn==1.9.1`):

- torchmetrics' `MulticlassCalibrationError(num_classes, n_bins=15, norm='l1' | 'max')` as
  users call it (it casts the confidences to float32), and its binning `_ce_compute` on the
  float64 confidences (the same bins and formula without the cast);
- netcal's `ECE(bins=15)`, `ECE(bins=15, equal_intervals=False)` (equal-mass bins) and
  `MCE(bins=15)` on the float64 softmax;
- `torch.nn.functional.cross_entropy` and `scipy.special.log_softmax` (float64) for the NLL,
  scikit-learn's `brier_score_loss(..., scale_by_half=False)` for the multi-class Brier score
  and `accuracy_score` for top-1;
- the temperature that minimises the NLL, twice: `scipy.optimize.brentq` on the derivative of
  the NLL with respect to 1/T (to machine precision), and `scipy.optimize.minimize_scalar`
  (bounded, on the NLL itself) as a check of the first.

The data: 2,000 images of 10 classes; calibrated logits `c ~ N(0, 1.5^2)` per class, labels
drawn from `softmax(c)`, and the stored logits `3 c` rounded to 3 decimals (over-confident: the
fitted temperature is close to 3). The script writes the file, reads the logits back from it
and computes every figure from what it read, so both sides start from the same doubles. An
edge case checks torchmetrics' rule for confidences on bin edges (4 bins, edges exact in
binary).
"""
import argparse
import json
import os
import sys

import netcal
import numpy as np
import scipy
import scipy.optimize
import scipy.special
import sklearn
import sklearn.metrics
import torch
import torchmetrics
from netcal.metrics import ECE, MCE
from torchmetrics.classification import MulticlassCalibrationError
from torchmetrics.functional.classification.calibration_error import _ce_compute

from common import repo_root

SEED = 2026
IMAGES, CLASSES, BINS = 2000, 10, 15
SCALE = 3.0
T_BOUNDS = (0.01, 100.0)

# Confidences on and off the edges 0.25, 0.5, 0.75 and 1 of 4 equal-width bins, with
# correctness: torchmetrics puts an edge into the bin above it and 1.0 into a bin of its own.
EDGE_CONFIDENCES = [0.25, 0.5, 0.75, 1.0, 0.999, 0.3, 0.6, 0.9, 1.0, 0.5]
EDGE_CORRECT = [True, False, True, True, False, True, True, False, False, True]


def figures(logits, labels, temperature):
    """Every figure of the logits divided by `temperature`, from the packages."""
    z = torch.tensor(logits / temperature, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.int64)
    probs = torch.softmax(z, dim=1)
    confidences, predictions = probs.max(dim=1)
    accuracies = predictions.eq(y).to(torch.float64)
    p = probs.numpy()
    out = {
        "top1": float(sklearn.metrics.accuracy_score(labels, p.argmax(axis=1))),
        "ece_torchmetrics": float(_ce_compute(confidences, accuracies, BINS, norm="l1")),
        "mce_torchmetrics": float(_ce_compute(confidences, accuracies, BINS, norm="max")),
        "ece_torchmetrics_float32": float(
            MulticlassCalibrationError(num_classes=CLASSES, n_bins=BINS, norm="l1")(z, y)
        ),
        "mce_torchmetrics_float32": float(
            MulticlassCalibrationError(num_classes=CLASSES, n_bins=BINS, norm="max")(z, y)
        ),
        "ece_netcal": float(ECE(bins=BINS).measure(p, labels)),
        "aece_netcal": float(ECE(bins=BINS, equal_intervals=False).measure(p, labels)),
        "mce_netcal": float(MCE(bins=BINS).measure(p, labels)),
        "nll_torch": float(torch.nn.functional.cross_entropy(z, y)),
        "nll_scipy": float(-np.mean(scipy.special.log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels])),
        "brier_sklearn": float(
            sklearn.metrics.brier_score_loss(labels, p, labels=list(range(CLASSES)), scale_by_half=False)
        ),
    }
    return out


def nll_slope(logits, labels, beta):
    """d NLL / d beta for logits beta * z: mean(E_p[z] - z_y), p = softmax(beta * z)."""
    p = scipy.special.softmax(beta * logits, axis=1)
    return float(np.mean((p * logits).sum(axis=1) - logits[np.arange(len(labels)), labels]))


def nll_at(logits, labels, temperature):
    ls = scipy.special.log_softmax(logits / temperature, axis=1)
    return float(-np.mean(ls[np.arange(len(labels)), labels]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default=os.path.join(repo_root(), "harness", "results", "tests", "fixtures", "calibration", "calibration_fixture.json"),
    )
    args = parser.parse_args()
    versions = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchmetrics": torchmetrics.__version__,
        "netcal": netcal.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }
    print(versions)

    rng = np.random.default_rng(SEED)
    calibrated = rng.normal(0.0, 1.5, size=(IMAGES, CLASSES))
    p_true = scipy.special.softmax(calibrated, axis=1)
    u = rng.random(IMAGES)
    labels = np.minimum((np.cumsum(p_true, axis=1) < u[:, None]).sum(axis=1), CLASSES - 1)
    logits = [[float(f"{v:.3f}") for v in row] for row in SCALE * calibrated]

    data = {
        "about": "calibration fixture: see tools/official/calibration_fixture.py and the README beside this file",
        "versions": versions,
        "seed": SEED,
        "classes": CLASSES,
        "bins": BINS,
        "logits": logits,
        "labels": [int(v) for v in labels],
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(data, f)
    # Every figure from the doubles the file holds.
    with open(args.out) as f:
        data = json.load(f)
    logits = np.array(data["logits"], dtype=np.float64)
    labels = np.array(data["labels"], dtype=np.int64)

    beta = scipy.optimize.brentq(
        lambda b: nll_slope(logits, labels, b), 1 / T_BOUNDS[1], 1 / T_BOUNDS[0], xtol=1e-15, rtol=1e-15, maxiter=500
    )
    temperature = 1.0 / beta
    bounded = scipy.optimize.minimize_scalar(
        lambda t: nll_at(logits, labels, t), bounds=T_BOUNDS, method="bounded", options={"xatol": 1e-10}
    )
    conf = torch.tensor(EDGE_CONFIDENCES, dtype=torch.float64)
    acc = torch.tensor(EDGE_CORRECT, dtype=torch.float64)
    data["expected"] = {
        "unscaled": figures(logits, labels, 1.0),
        "temperature_brentq": temperature,
        "temperature_minimize_scalar": float(bounded.x),
        "temperature_scaled": figures(logits, labels, temperature),
        "edge_case": {
            "bins": 4,
            "confidences": EDGE_CONFIDENCES,
            "correct": EDGE_CORRECT,
            "ece_torchmetrics": float(_ce_compute(conf, acc, 4, norm="l1")),
            "mce_torchmetrics": float(_ce_compute(conf, acc, 4, norm="max")),
        },
    }
    with open(args.out, "w") as f:
        json.dump(data, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(json.dumps(data["expected"], indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
