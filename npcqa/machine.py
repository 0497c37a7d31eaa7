"""Which CPU a figure was measured on: every benchmark writes this next to its numbers.

Speed on the 2-core machines this runs on depends on the CPU more than on the code (int8 ONNX runs ~4x
slower without AVX-512 VNNI), so a figure without its CPU cannot be compared. When no CPU without
AVX-512 is at hand, ``make bench-avx2`` runs the benchmarks with torch, MKL and oneDNN capped to AVX2
(the environment variables below); the label then says so, so an emulated figure is never taken for a
measured one.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Environment variables that cap the instruction set the numeric libraries use (torch's own kernels,
#: MKL's GEMM, oneDNN). Together they make an AVX-512 machine compute like an AVX2-only one.
ISA_CAP_VARS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def isa_cap() -> str | None:
    """"AVX2" when all three caps are set in this process's environment, else None."""
    if all(os.environ.get(k, "").lower() == v.lower() for k, v in ISA_CAP_VARS.items()):
        return "AVX2"
    return None


def cpu_label() -> str:
    """``model name`` from /proc/cpuinfo, whether its flags include avx512_vnni, and any ISA cap."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "unknown")
    label = name + (" (avx512_vnni)" if "avx512_vnni" in info else " (no VNNI)")
    if isa_cap():
        label += ", torch/MKL/oneDNN capped to AVX2 (emulating a CPU without AVX-512)"
    return label
