#!/usr/bin/env python3
"""Regenerates methods/saliencymix/tests/fixtures/opencv_fine_grained.safetensors: OpenCV's static
fine-grained saliency (the detector SaliencyMix's `saliency_bbox` calls in SamsungLabs/SAGE
`main.py`) on 16 real CIFAR-10 images, for methods/saliencymix/tests/opencv_parity.rs.

    python3 tools/official/saliencymix_fixture.py \\
        [--cifar ../shared/datasets/cifar10-jpeg.tar.gz] [--out methods/saliencymix/tests/fixtures/opencv_fine_grained.safetensors]

No official repository is needed: the detector call and the `* 255` then `uint8` cast are the
two lines of `saliency_bbox`, repeated here. Requires opencv-contrib-python-headless 5.0.0.93
(the version the Rust emulation of the detector targets) and torchvision for the normalisation.
The recipe is the one in methods/saliencymix/tests/fixtures/README.md.
"""
import cpu_isa  # noqa: F401  (first: pins torch's CPU kernels to AVX2 before torch loads)

import argparse
import os

import cv2
import numpy as np
import torch

from common import default_cifar, normalize, read_jpegs, repo_root, save_json_layout

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse"]
FILES = ["0000.jpg", "0001.jpg"]


def fine_grained(img):
    # As `saliency_bbox` in SAGE main.py: computeSaliency, then (map * 255).astype("uint8").
    detector = cv2.saliency.StaticSaliencyFineGrained_create()
    _, saliency_map = detector.computeSaliency(img)
    return (saliency_map * 255).astype("uint8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cifar", default=default_cifar())
    parser.add_argument(
        "--out",
        default=os.path.join(repo_root(), "methods", "saliencymix", "tests", "fixtures", "opencv_fine_grained.safetensors"),
    )
    args = parser.parse_args()
    print(f"cv2 {cv2.__version__}")

    rgb, _ = read_jpegs(args.cifar, CLASSES, FILES)
    images = normalize(rgb)
    out = {
        "images_u8": torch.from_numpy(np.stack(rgb)),
        "images": images,
        "map_u8_rgb": torch.from_numpy(np.stack([fine_grained(a) for a in rgb])),
        "map_u8_bgr": torch.from_numpy(np.stack([fine_grained(np.ascontiguousarray(a[:, :, ::-1])) for a in rgb])),
        "map_float": torch.from_numpy(np.stack([fine_grained(x.numpy().transpose(1, 2, 0)) for x in images])),
    }
    save_json_layout(out, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
