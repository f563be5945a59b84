"""Serving engines: processes that speak OpenAI HTTP.

Built-in servers (``python -m sage.llm.engines.<name> --port P``): ``llama`` (llama.cpp
LLM), ``embedding`` (sentence-transformers, server-side batching), ``fake`` (tests).
``external`` engines are reached by URL; ``vllm`` builds the ``vllm serve`` command.
:class:`sage.llm.engine_manager.EngineManager` starts and watches them.
"""

from sage.llm.engines.spec import EngineInfo, EngineKind, EngineSpec, EngineStatus

__all__ = ["EngineInfo", "EngineKind", "EngineSpec", "EngineStatus"]
