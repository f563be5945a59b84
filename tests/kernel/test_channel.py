"""sage.platform.queue: bounded blocking channel and writer-side micro-batching."""

from __future__ import annotations

import threading

import pytest

from sage.platform.queue import BatchBuffer, BoundedChannel, ChannelCancelled


def test_put_blocks_when_full_until_get() -> None:
    ch = BoundedChannel(capacity=2)
    ch.put(1)
    ch.put(2)
    entered = threading.Event()
    done = threading.Event()

    def producer() -> None:
        entered.set()
        ch.put(3)
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    entered.wait()
    assert not done.is_set() or len(ch) <= 2
    assert ch.get() == 1
    t.join(10)
    assert done.is_set()
    assert [ch.get(), ch.get()] == [2, 3]
    assert ch.peak == 2


def test_control_messages_bypass_capacity() -> None:
    ch = BoundedChannel(capacity=1)
    ch.put("data")
    ch.put_control("eos")  # must not block
    assert [ch.get(), ch.get()] == ["data", "eos"]


def test_cancel_wakes_blocked_getters_and_putters() -> None:
    ch = BoundedChannel(capacity=1)
    ch.put(0)
    errors: list[BaseException] = []

    def blocked_put() -> None:
        try:
            ch.put(1)
        except ChannelCancelled as exc:
            errors.append(exc)

    empty = BoundedChannel(capacity=1)

    def blocked_get() -> None:
        try:
            empty.get()
        except ChannelCancelled as exc:
            errors.append(exc)

    threads = [threading.Thread(target=blocked_put), threading.Thread(target=blocked_get)]
    for t in threads:
        t.start()
    ch.cancel()
    empty.cancel()
    for t in threads:
        t.join(10)
    assert len(errors) == 2


def test_batch_buffer_flushes_on_size_and_on_demand() -> None:
    sent: list[list[int]] = []
    buf = BatchBuffer(sent.append, batch_size=3)
    buf.extend([1, 2])
    assert sent == []
    buf.append(3)
    assert sent == [[1, 2, 3]]
    buf.extend(range(4, 11))
    assert sent[-1] == [7, 8, 9] and len(buf) == 1
    buf.flush()
    assert [x for b in sent for x in b] == list(range(1, 11))
    assert all(len(b) <= 3 for b in sent)
    with pytest.raises(ValueError):
        BoundedChannel(capacity=0)
