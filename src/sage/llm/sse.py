"""Server-sent events in OpenAI's framing (``data: {...}\\n\\n`` ... ``data: [DONE]``),
shared by the engines' streams and the gateway's relay."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sage.llm.openai_errors import OpenAIError

SSE_DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def sse_error(error: OpenAIError) -> bytes:
    """An error event: how a stream that already answered 200 reports a failure."""
    return sse(error.body())


async def sse_stream(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Frame ``chunks`` as SSE; an error mid-stream becomes an error event, then [DONE]."""
    try:
        async for chunk in chunks:
            yield sse(chunk)
    except OpenAIError as exc:
        yield sse_error(exc)
    except Exception as exc:  # the client already has a 200: report in-band
        yield sse_error(OpenAIError(500, f"{type(exc).__name__}: {exc}", code="internal_error"))
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()  # stop generation now when the client goes away
    yield SSE_DONE
