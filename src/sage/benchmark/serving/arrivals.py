"""Arrival processes: when requests are sent, independent of when they finish (open loop).

Inter-arrival gaps follow a gamma distribution with shape ``burstiness`` and mean
``1 / rate``, as in vLLM's serving benchmark: ``burstiness == 1`` is a Poisson process,
smaller values are burstier (coefficient of variation ``1 / sqrt(burstiness)``), larger
ones more regular. ``burstiness = inf`` gives a constant rate.
"""

from __future__ import annotations

import math

import numpy as np

from sage.common.errors import ConfigError


def interarrival_gaps(
    rate: float, n: int, rng: np.random.Generator, burstiness: float = 1.0
) -> np.ndarray:
    """``n`` gaps in seconds with mean ``1 / rate``."""
    if rate <= 0:
        raise ConfigError(f"rate must be positive, not {rate}")
    if not burstiness > 0:
        raise ConfigError(f"burstiness must be positive, not {burstiness}")
    if math.isinf(burstiness):
        return np.full(n, 1.0 / rate)
    return rng.gamma(shape=burstiness, scale=1.0 / (rate * burstiness), size=n)


def arrival_times(
    rate: float,
    rng: np.random.Generator,
    *,
    duration: float | None = None,
    n: int | None = None,
    burstiness: float = 1.0,
) -> np.ndarray:
    """Sorted arrival offsets (seconds from 0): the first ``n``, or all before ``duration``.

    The first request arrives after one gap, not at 0, so a process split by tenant and
    merged again keeps its statistics.
    """
    if (duration is None) == (n is None):
        raise ConfigError("give exactly one of duration or n")
    if n is not None:
        return np.cumsum(interarrival_gaps(rate, n, rng, burstiness))
    assert duration is not None
    chunks: list[np.ndarray] = []
    last = 0.0
    expected = rate * duration
    while last < duration:
        size = max(16, int(expected + 5 * math.sqrt(expected + 1) + 16))
        times = last + np.cumsum(interarrival_gaps(rate, size, rng, burstiness))
        chunks.append(times)
        last = float(times[-1])
    times = np.concatenate(chunks)
    return times[times < duration]
