"""Pins the CPU code paths of torch to AVX2 before torch is imported (import this module first).

The committed fixtures were made on an x86-64 CPU without AVX-512. torch picks its vectorised
kernels (ATen) and its oneDNN convolution kernels by the CPU's instruction set, and on an
AVX-512 CPU their different summation orders change the last bits of the convolution
gradients, which the fixtures' saliency passes amplify (about 0.2% relative on SAGE's input
gradient). Capping both at AVX2 reproduces the committed bytes on AVX-512 CPUs as well. MKL is
capped too, for Intel CPUs. Each variable is only set when the caller has not set it.
"""
import os

PINNED = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}

if "torch" in __import__("sys").modules:
    raise RuntimeError("import cpu_isa before torch: the instruction set is read when torch loads")
for _k, _v in PINNED.items():
    os.environ.setdefault(_k, _v)
