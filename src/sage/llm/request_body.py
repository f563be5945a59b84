"""Reading an OpenAI request body: size-capped, validated against a pydantic schema, and
every failure an :class:`OpenAIError` (400 or 413) instead of a crash further in.

Plain functions rather than FastAPI body parameters: the hot paths of the gateway and
the fake engine skip FastAPI's per-request dependency solving this way.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from sage.llm.openai_errors import OpenAIError, validation_error

M = TypeVar("M", bound=BaseModel)


def _too_large(limit: int) -> OpenAIError:
    return OpenAIError(413, f"request body exceeds {limit} bytes", code="request_too_large")


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The raw body; 413 past ``limit`` bytes, by Content-Length or as it arrives."""
    if limit is None:
        return await request.body()
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise OpenAIError(400, "invalid Content-Length header") from None
        if too_big:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(
    request: Request, schema: type[M], limit: int | None = None
) -> tuple[bytes, M]:
    """The raw body and its validated form."""
    raw = await read_body(request, limit)
    if not raw:
        raise OpenAIError(400, "request body is empty; JSON expected", code="invalid_json")
    try:
        return raw, schema.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from None
