"""What every bench shares: a median timer and one printed line per figure."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(func: Callable[[], Any], repeat: int = 5) -> float:
    """Median wall time of `func()` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(label: str, value: float, target: str, ok: bool, unit: str = "x") -> bool:
    """Print one figure against its target; return whether it is met."""
    print(f"{label:<64} {value:8.2f}{unit}  (target {target})  {'ok' if ok else 'MISSED'}")
    return ok
