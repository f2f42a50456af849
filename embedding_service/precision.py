"""Which number format the model computes in.

bfloat16 autocast runs MiniLM about 2.6x faster than float32 on a CPU with native bfloat16
instructions (AMX or AVX512-BF16), and the vectors stay within cosine 0.9999 of the float32
ones (docs/BENCHMARKS.md (b)). Without those instructions bfloat16 is emulated and slower,
so ``auto`` chooses it only where the CPU has them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

Precision = Literal["auto", "float32", "bfloat16"]
# /proc/cpuinfo flags of x86 CPUs that compute bfloat16 natively.
NATIVE_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them; empty where the file is absent or unreadable."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def resolve(precision: Precision, device: str, flags: Callable[[], frozenset[str]] = cpu_flags) -> str:
    """``float32`` or ``bfloat16``: what ``precision`` means on ``device`` of this machine."""
    if precision != "auto":
        return precision
    if device != "cpu":
        return "float32"
    return "bfloat16" if NATIVE_BF16_FLAGS & flags() else "float32"


def compute_context(resolved: str, device: str) -> contextlib.AbstractContextManager[object]:
    """The context a forward pass runs in: bfloat16 autocast, or nothing for float32."""
    if resolved == "float32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
