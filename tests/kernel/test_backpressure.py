"""Bounded channels: a slow sink throttles an infinite source; nothing is lost on stop."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sage.kernel import LocalEnvironment, SinkFunction, SourceFunction


class Ledger:
    """Shared counters (the local runtime passes constructor args by reference)."""

    def __init__(self, stop_after: int) -> None:
        self.lock = threading.Lock()
        self.produced = 0
        self.consumed = 0
        self.max_gap = 0
        self.seen: list[int] = []
        self.stop_after = stop_after
        self.enough = threading.Event()


class Naturals(SourceFunction):
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def execute(self) -> int:
        with self.ledger.lock:
            n = self.ledger.produced
            self.ledger.produced += 1
        return n


class SlowSink(SinkFunction):
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def execute(self, data: int) -> None:
        sum(range(3000))  # CPU work, far slower than the source
        led = self.ledger
        with led.lock:
            led.consumed += 1
            led.seen.append(data)
            led.max_gap = max(led.max_gap, led.produced - led.consumed)
            if led.consumed >= led.stop_after:
                led.enough.set()


@pytest.mark.parametrize("map_par", [1, 2])
def test_slow_sink_bounds_in_flight_on_infinite_source(map_par: int) -> None:
    batch, cap = 16, 2
    ledger = Ledger(stop_after=3000)
    env = LocalEnvironment("backpressure", config={"batch_size": batch, "channel_capacity": cap,
                                                         "chaining": False})
    env.from_source(Naturals, ledger).map(lambda x: x, parallelism=map_par).sink(
        SlowSink, ledger)
    env.submit(autostop=False)
    assert ledger.enough.wait(60)
    env.stop()
    # In flight at most: the source's batch, each inbox (cap batches), each task's
    # current batch and partial output buffers.
    tasks = 1 + map_par + 1
    bound = batch * (1 + tasks * (cap + 2) + map_par)
    assert ledger.max_gap <= bound
    peaks: dict[str, Any] = env.metrics().channel_peaks
    assert max(peaks.values()) <= cap
    # stop drains: every record the source produced reached the sink exactly once
    assert ledger.consumed == ledger.produced
    assert sorted(ledger.seen) == list(range(ledger.produced))
    assert env.metrics().status == "stopped"


class Sometimes(SourceFunction):
    """Offers a record only every third call (``None`` = nothing right now)."""

    def open(self) -> None:
        self.calls = 0
        self.sent = 0

    def execute(self) -> int | None:
        self.calls += 1
        if self.calls % 3:
            return None
        self.sent += 1
        return self.sent


def test_unbounded_source_with_gaps_stops_cleanly() -> None:
    got: list[int] = []
    ready = threading.Event()

    def sink(x: int) -> None:
        got.append(x)
        if len(got) >= 50:
            ready.set()

    env = LocalEnvironment("gaps", config={"batch_size": 8})
    env.from_source(Sometimes).sink(sink)
    assert env.submit(autostop=False) is None
    assert ready.wait(30)
    env.stop()
    assert got == list(range(1, len(got) + 1))
    assert not env._runtime.running  # type: ignore[union-attr]
