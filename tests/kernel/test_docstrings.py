"""The runnable examples in the public API's docstrings (every operator method of
``DataStream``/``ConnectedStreams``, the environment's sources and ``collect``, the
registry and operator kinds) still run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sage.common.registry",
    "sage.common.graphs",
    "sage.kernel.kinds",
    "sage.kernel.api.datastream",
    "sage.kernel.api.environment",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} failing example(s) in {name} (see output)"
