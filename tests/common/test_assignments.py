"""``KEY=VALUE`` command-line pairs (``--env``, ``--resource``), shared by the CLI commands."""

from __future__ import annotations

import pytest

from sage.common.assignments import parse_assignments, parse_resources
from sage.common.errors import ConfigError


def test_pairs_and_resources() -> None:
    assert parse_assignments(["A=1", "B=x=y", "A=2"]) == {"A": "2", "B": "x=y"}
    assert parse_resources(["num_gpus=1", "gpu_node=0.5"]) == {"num_gpus": 1.0, "gpu_node": 0.5}


@pytest.mark.parametrize("pair", ["num_gpus", "=1"])
def test_missing_key_or_value_is_named(pair: str) -> None:
    with pytest.raises(ConfigError, match="--resource expects KEY=VALUE"):
        parse_resources([pair])


def test_non_number_amount_is_named() -> None:
    with pytest.raises(ConfigError, match=r"--resource expects NAME=AMOUNT with a number.*lots"):
        parse_resources(["num_gpus=lots"])
