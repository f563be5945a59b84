"""Stable key hashing and the four partition strategies' routing arithmetic.

Keyed records must reach the same instance in every process and every run, so the hash
is CRC-32 over a canonical byte encoding, never Python's salted ``hash``. Keys that
compare equal (``1 == 1.0 == True``) encode the same.
"""

from __future__ import annotations

import zlib
from typing import Any


def canonical_bytes(key: Any) -> bytes:
    """A process-independent encoding of a key (str, bytes, numbers, None, tuples...)."""
    t = type(key)
    if t is str:
        return b"s" + key.encode("utf-8", "surrogatepass")
    if t is int or t is bool:
        return b"i" + str(int(key)).encode()
    if t is float:
        if key.is_integer():
            return b"i" + str(int(key)).encode()
        return b"f" + repr(key).encode()
    if t is bytes or t is bytearray:
        return b"b" + bytes(key)
    if key is None:
        return b"n"
    if isinstance(key, tuple | list):
        parts = [canonical_bytes(k) for k in key]
        return b"t" + b"".join(len(p).to_bytes(4, "little") + p for p in parts)
    if isinstance(key, frozenset | set):
        parts = sorted(canonical_bytes(k) for k in key)
        return b"S" + b"".join(len(p).to_bytes(4, "little") + p for p in parts)
    if isinstance(key, str):  # str subclasses (enums)
        return b"s" + str(key).encode("utf-8", "surrogatepass")
    if isinstance(key, int):
        return b"i" + str(int(key)).encode()
    return b"r" + repr(key).encode("utf-8", "surrogatepass")


_STR_SEED = zlib.crc32(b"s")


def stable_hash(key: Any) -> int:
    """Deterministic 32-bit hash of ``key``."""
    if type(key) is str:  # fast path, same value as crc32(canonical_bytes(key))
        return zlib.crc32(key.encode("utf-8", "surrogatepass"), _STR_SEED)
    return zlib.crc32(canonical_bytes(key))


def partition_for(key: Any, parallelism: int) -> int:
    """The instance index a key maps to."""
    return stable_hash(key) % parallelism
