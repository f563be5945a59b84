"""The system under test: running engines plus one gateway in front of them.

By default the embedded engines (SmolLM2 via llama.cpp, MiniLM via
sentence-transformers) are started once through the :class:`EngineManager` and one
gateway, in its own process so it does not share the load generator's interpreter,
is put in front of them. Given URLs, running engines (or a running gateway) are used
instead and left running.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sage.common.errors import ConfigError


@dataclass
class Endpoints:
    llm_url: str
    embedding_url: str
    gateway_url: str | None = None
    api_key: str | None = None
    engines: list[Any] = field(default_factory=list)  # EngineInfo records we started


def start_default_engines(stack: ExitStack) -> tuple[Any, list[Any]]:
    """Start the embedded LLM and embedding engines (in parallel); stopped with ``stack``."""
    from sage.llm.engine_manager import EngineManager
    from sage.llm.engines.spec import EngineSpec

    home = stack.enter_context(tempfile.TemporaryDirectory(prefix="sage-bench-"))
    manager = EngineManager(home, persist=False)
    stack.callback(manager.stop_all)
    infos = [
        manager.start(EngineSpec(kind="llm", backend="llama_cpp"), wait=False),
        manager.start(EngineSpec(kind="embedding", backend="sentence_transformers"), wait=False),
    ]
    for info in infos:
        manager.wait_healthy(info.id)
    return manager, infos


@contextmanager
def serving_endpoints(
    llm_url: str | None = None,
    embedding_url: str | None = None,
    gateway_url: str | None = None,
    *,
    need_gateway: bool = True,
    policy: str = "hybrid",
    gateway_mode: str = "process",
    api_key: str | None = None,
) -> Iterator[Endpoints]:
    """Yield the URLs to benchmark, starting whatever was not given."""
    if (llm_url is None) != (embedding_url is None):
        raise ConfigError("give both --llm-url and --embedding-url, or neither")
    with ExitStack() as stack:
        manager, infos = None, []
        if llm_url is None or embedding_url is None:
            manager, infos = start_default_engines(stack)
            llm_url, embedding_url = infos[0].url, infos[1].url
        if need_gateway and gateway_url is None:
            from sage.gateway.stack import ServingStack

            if infos:
                stack_obj = ServingStack(
                    engines=infos, engine_manager=manager, policy=policy, mode=gateway_mode
                )
            else:
                stack_obj = ServingStack(
                    engine_urls=[f"{llm_url},kind=llm", f"{embedding_url},kind=embedding"],
                    policy=policy,
                    mode=gateway_mode,
                )
            gateway_url = stack.enter_context(stack_obj).url
        yield Endpoints(llm_url, embedding_url, gateway_url, api_key, infos)
