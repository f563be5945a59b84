"""``/v1/models`` entries: OpenAI's model object plus vLLM's ``max_model_len``."""

from __future__ import annotations

import time
from typing import Any


def model_card(
    model_id: str, *, max_model_len: int | None = None, created: int | None = None, **extra: Any
) -> dict[str, Any]:
    """One model object; ``max_model_len`` (the context size) when the server knows it."""
    card: dict[str, Any] = {
        "id": model_id,
        "object": "model",
        "created": created if created is not None else int(time.time()),
        "owned_by": "sage",
    }
    if max_model_len is not None:
        card["max_model_len"] = max_model_len
    return {**card, **extra}
