"""Dataflow operators that call the control plane (through ``LLMClient``) and stores.

Each takes the gateway's base URL (a string, so operators pickle for Ray) and opens its
own client per parallel instance. Records are dicts; operators return a new dict with
their field added and never mutate their input.
"""

from sage.middleware.operators.agent import AgentOperator, AgentStep
from sage.middleware.operators.embed import Embed
from sage.middleware.operators.generate import DEFAULT_TEMPLATE, NO_CONTEXT_TEMPLATE, Generate
from sage.middleware.operators.index import Index, index_chunks
from sage.middleware.operators.rerank import Rerank
from sage.middleware.operators.retrieve import Retrieve
from sage.middleware.operators.short_answer import ANSWER_MODES

__all__ = [
    "ANSWER_MODES",
    "DEFAULT_TEMPLATE",
    "NO_CONTEXT_TEMPLATE",
    "AgentOperator",
    "AgentStep",
    "Embed",
    "Generate",
    "Index",
    "Rerank",
    "Retrieve",
    "index_chunks",
]
