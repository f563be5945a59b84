"""Bounded, blocking, micro-batched channels that carry records between tasks.

A :class:`BoundedChannel` holds whole *batches* (lists of records), so one lock round trip
moves up to a batch of records; its capacity in batches is what gives backpressure.
"""

from sage.platform.queue.batching import BatchBuffer
from sage.platform.queue.channel import BoundedChannel, ChannelCancelled

__all__ = ["BatchBuffer", "BoundedChannel", "ChannelCancelled"]
