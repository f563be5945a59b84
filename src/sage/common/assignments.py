"""``KEY=VALUE`` pairs from the command line (``--env``, ``--resource``) as dicts.

Shared by every command that takes them (``sage job submit``, ``sage engine start``),
so the syntax and the error messages are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from sage.common.errors import ConfigError


def parse_assignments(pairs: Iterable[str], option: str = "--env") -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}``; the last one wins."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option} expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def parse_resources(pairs: Iterable[str], option: str = "--resource") -> dict[str, float]:
    """``["num_gpus=1", "gpu_node=0.5"]`` -> ``{"num_gpus": 1.0, "gpu_node": 0.5}``
    (Ray's resource names; the scheduler checks them against the cluster)."""
    out: dict[str, float] = {}
    for name, amount in parse_assignments(pairs, option).items():
        try:
            out[name] = float(amount)
        except ValueError as exc:
            raise ConfigError(f"{option} expects NAME=AMOUNT with a number, got "
                              f"{name}={amount!r}") from exc
    return out
