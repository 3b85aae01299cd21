"""Helpers shared by the scripts in tools/official/ (nothing here comes from the official code).

- `repo_root()`, `default_cifar()`: the repository root and the default CIFAR-10 JPEG tarball
  (`../shared/datasets/cifar10-jpeg.tar.gz` relative to the repository root).
- `read_jpegs(tar_path, classes, files)`: decoded RGB `uint8` arrays `[32, 32, 3]` of
  `test/<class>/<file>` for each class in the given order, then each file (the order of the
  sorted paths when `classes` and `files` are sorted), with their class indices in the sorted
  list of the ten CIFAR-10 class names.
- `normalize(rgb_u8, mean, std)`: what `transforms.ToTensor()` then
  `transforms.Normalize(mean, std)` give (float32 `x / 255`, then `(x - mean) / std`).
- `stub_module(name)`: an empty module registered under `name` (for an official import that
  the code we run never uses); it has a `__spec__`, which torch's dynamo import checks want.
- `save_json_layout(tensors, path)`: a safetensors file in the layout that Python's `json`
  module writes (keys sorted by name, data in that order, `", "` and `": "` separators, header
  padded with spaces to a multiple of 8). The SAGE and SaliencyMix fixtures were written this
  way; the Puzzle Mix, Co-Mixup and Manifold fixtures with `safetensors.torch.save_file`, whose
  header is compact and groups the tensors by dtype.
"""
import importlib.machinery
import importlib.util
import io
import json
import os
import struct
import sys
import tarfile

import numpy as np
import torch
from PIL import Image

CIFAR10_CLASSES = sorted(
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
)
# CIFAR-10 mean and std as the official load_data.py files write them.
MEAN = [x / 255 for x in [125.3, 123.0, 113.9]]
STD = [x / 255 for x in [63.0, 62.1, 66.7]]


def stub_module(name):
    if name not in sys.modules:
        sys.modules[name] = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(name, None))
    return sys.modules[name]


def repo_root():
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def default_cifar():
    return os.path.join(repo_root(), "..", "shared", "datasets", "cifar10-jpeg.tar.gz")


def read_jpegs(tar_path, classes, files):
    images, labels = [], []
    with tarfile.open(tar_path) as tar:
        members = {os.path.normpath(m.name): m for m in tar.getmembers() if m.isfile()}
        for cls in classes:
            for f in files:
                name = next(n for n in sorted(members) if n.endswith(f"test/{cls}/{f}"))
                data = tar.extractfile(members[name]).read()
                images.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8))
                labels.append(CIFAR10_CLASSES.index(cls))
    return images, labels


def normalize(rgb_u8, mean=MEAN, std=STD):
    from torchvision import transforms

    t = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    return torch.stack([t(Image.fromarray(a)) for a in rgb_u8])


_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.uint8: "U8",
}


def save_json_layout(tensors, path):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = t.numpy().tobytes()
        header[name] = {
            "dtype": _DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
