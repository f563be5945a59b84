"""Merging embedding requests into one engine call and splitting the answer back.

The split keeps every number as the engine wrote it (parsed as text, spliced back
verbatim): re-printing tens of thousands of floats per batch would cost the gateway
more CPU than the rest of the request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def merge_inputs(parts: Sequence[Sequence[Any]]) -> list[Any]:
    merged: list[Any] = []
    for part in parts:
        merged.extend(part)
    return merged


def split_embeddings(body: bytes, counts: Sequence[int], model: str) -> list[bytes]:
    """Cut an ``/v1/embeddings`` reply for ``sum(counts)`` inputs into one reply per request.

    Each piece is a complete OpenAI reply with indices from 0 and a share of the usage.
    Raises ``ValueError`` when the reply does not hold one vector per input.
    """
    data = json.loads(body, parse_float=str, parse_int=str)
    rows = sorted(data.get("data") or [], key=lambda d: int(d.get("index", 0)))
    total = sum(counts)
    if len(rows) != total:
        raise ValueError(f"engine returned {len(rows)} embeddings for {total} inputs")
    usage = data.get("usage") or {}
    tokens = int(usage.get("prompt_tokens", 0) or 0)
    name = json.dumps(str(data.get("model") or model))
    out: list[bytes] = []
    offset = 0
    for n in counts:
        pieces = []
        for i, row in enumerate(rows[offset : offset + n]):
            vector = row.get("embedding")
            raw = "[" + ",".join(vector) + "]" if isinstance(vector, list) else json.dumps(vector)
            pieces.append(f'{{"object":"embedding","index":{i},"embedding":{raw}}}')
        offset += n
        share = round(tokens * n / total) if total else 0
        out.append(
            (
                f'{{"object":"list","data":[{",".join(pieces)}],"model":{name},'
                f'"usage":{{"prompt_tokens":{share},"total_tokens":{share}}}}}'
            ).encode()
        )
    return out
