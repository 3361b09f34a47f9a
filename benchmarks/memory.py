"""Host memory of this process, for the benchmarks' peak-memory figures (Linux /proc).

The peak is VmHWM, the high-water mark of this process's own address space. Not ru_maxrss: Linux
keeps that across fork and exec, so a child measured in a fresh process would report its parent's
resident set whenever the parent was the larger.
"""
from __future__ import annotations


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def resident_mib() -> float:
    """The resident set now."""
    return _status_mib("VmRSS")


def peak_resident_mib() -> float:
    """The largest resident set this process has had."""
    return _status_mib("VmHWM")
