#!/usr/bin/env python3
"""The PyTorch eager reference of mixbench's Vanilla training step, for the runtime evaluation.

mixbench's `runtime` evaluation runs this script (embedded in the binary) when Python and torch
are present, with the recipe of the Vanilla cell it measures, and puts its figures beside
mixbench's in `runtime-reference.csv` and the report. It can also be run by hand:

    python3 tools/pytorch_eager/train_step.py --model preact_resnet18 --classes 100 --threads 2

The step is the one a PyTorch user writes for the same recipe, eager mode, no compilation:
gather a batch of u8 images already on the device, random flip and crop with zero padding (one
gather per axis, offsets drawn per image), scale to [0, 1] and normalise, forward, the loss of
the recipe against one-hot targets, backward, `torch.optim.SGD` with its defaults for the
device (the per-parameter loop on the CPU, multi-tensor kernels on CUDA), `zero_grad()`. The
model definitions mirror mixbench's (`harness/src/models/`): same layers, shapes and order.
The images are random u8 pixels of the data set's shape: the speed of this step does not
depend on pixel values.

Output: one JSON object on stdout (torch version, device, threads, the seconds of each timed
repetition of `--steps` steps, images per second, peak memory).
"""

import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class PreActBlock(nn.Module):
    """Pre-activation basic block; the projection shortcut takes the activated input."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        shortcut = self.shortcut(a) if self.shortcut is not None else x
        h = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return h + shortcut


class PreActResNet18(nn.Module):
    """3x3 stem without BN, four stages of two blocks, global average pooling, linear head."""

    def __init__(self, num_classes, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
        blocks, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            for s in [stride, 1]:
                blocks.append(PreActBlock(cin, cout, s))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x):
        h = self.blocks(self.conv1(x))
        return self.linear(F.adaptive_avg_pool2d(h, 1).flatten(1))


class SmallCnn(nn.Module):
    """3x3 conv + BN + ReLU of 16, 32, 64, 128 channels, max-pool after the first and third."""

    def __init__(self, num_classes, channels):
        super().__init__()
        layers, cin = [], channels
        for i, cout in enumerate([16, 32, 64, 128]):
            layers += [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            if i in (0, 2):
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.linear(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


MODELS = {"preact_resnet18": PreActResNet18, "small_cnn": SmallCnn}


def augment(raw, padding, flip, generator):
    """Random horizontal flip and random crop with zero padding, one gather per axis."""
    b, c, h, w = raw.shape
    device = raw.device
    flips = (torch.rand(b, generator=generator) < 0.5) & flip
    oy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    rows = oy[:, None] + torch.arange(h)[None, :]
    j = torch.arange(w)[None, :]
    cols = torch.where(flips[:, None], w + 2 * padding - 1 - ox[:, None] - j, ox[:, None] + j)
    padded = F.pad(raw, (padding, padding, padding, padding)) if padding > 0 else raw
    rows = rows.to(device).view(b, 1, h, 1).expand(b, c, h, w + 2 * padding)
    cols = cols.to(device).view(b, 1, 1, w).expand(b, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="preact_resnet18", choices=sorted(MODELS))
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--images", type=int, default=5000, help="images held on the device")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--loss", default="bce_softmax", choices=["bce_softmax", "soft_cross_entropy"])
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--nesterov", type=int, default=1)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--crop-padding", type=int, default=2)
    p.add_argument("--flip", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="0: torch's default")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps")
    p.add_argument("--steps", type=int, default=20, help="steps per timed repetition")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    generator = torch.Generator().manual_seed(a.seed)
    model = MODELS[a.model](a.classes, a.channels).to(device).train()
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=a.lr,
        momentum=a.momentum,
        nesterov=bool(a.nesterov),
        weight_decay=a.weight_decay,
    )
    shape = (a.images, a.channels, a.size, a.size)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator).to(device)
    labels = torch.randint(0, a.classes, (a.images,), generator=generator).to(device)
    mean = torch.full((1, a.channels, 1, 1), 0.5, device=device)
    std = torch.full((1, a.channels, 1, 1), 0.25, device=device)
    order = torch.randperm(a.images, generator=generator)
    position = 0

    def step():
        nonlocal position, order
        if position + a.batch_size > a.images:
            order, position = torch.randperm(a.images, generator=generator), 0
        index = order[position : position + a.batch_size].to(device)
        position += a.batch_size
        raw = images.index_select(0, index)
        y = labels.index_select(0, index)
        x = (augment(raw, a.crop_padding, bool(a.flip), generator).float() / 255.0 - mean) / std
        logits = model(x)
        targets = F.one_hot(y, a.classes).float()
        if a.loss == "bce_softmax":
            loss = F.binary_cross_entropy(logits.softmax(1), targets)
        else:
            loss = -(targets * logits.log_softmax(1)).sum(1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    for _ in range(a.warmup):
        step()
    seconds = []
    for _ in range(a.repeats):
        sync()
        start = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        seconds.append(time.perf_counter() - start)
    if cuda:
        peak, memory_kind = torch.cuda.max_memory_reserved(device), "cuda reserved (torch)"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        memory_kind = "cpu peak RSS"
    best = sorted(seconds)[len(seconds) // 2]
    json.dump(
        {
            "torch": torch.__version__,
            "device": torch.cuda.get_device_name(device) if cuda else "cpu",
            "threads": torch.get_num_threads(),
            "steps": a.steps,
            "batch_size": a.batch_size,
            "repeat_seconds": seconds,
            "images_per_second": a.steps * a.batch_size / best,
            "peak_memory_bytes": peak,
            "memory_kind": memory_kind,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
