"""OpenAI's HTTP protocol as pydantic models, one module per endpoint (like vLLM's
``entrypoints/openai/protocol``), shared by the gateway and every built-in engine so the
gateway never accepts a body its engines would reject.

What a particular engine cannot honour (an image for a text model, ``best_of > 1``) is
that engine's 400, not the protocol's: the gateway also serves external engines that can.
"""

from sage.llm.protocol.chat import (
    ChatCompletionRequest,
    ChatMessage,
    FunctionDefinition,
    NamedToolChoice,
    ResponseFormat,
    Tool,
)
from sage.llm.protocol.common import MAX_N, SamplingParams, StreamOptions
from sage.llm.protocol.completions import CompletionRequest
from sage.llm.protocol.embeddings import EmbeddingRequest
from sage.llm.protocol.models import model_card

__all__ = [
    "MAX_N",
    "ChatCompletionRequest",
    "ChatMessage",
    "CompletionRequest",
    "EmbeddingRequest",
    "FunctionDefinition",
    "NamedToolChoice",
    "ResponseFormat",
    "SamplingParams",
    "StreamOptions",
    "Tool",
    "model_card",
]
