"""Merging embedding requests into one engine call and splitting the answer back.

The split keeps every number as the engine wrote it (spliced back verbatim):
re-printing tens of thousands of floats per batch would cost the gateway more CPU than
the rest of the request. A reply of float arrays is cut by one regex pass over its bytes
(each vector is a ``[...]`` with no brackets inside), ~10x cheaper than parsing it as
JSON; anything else (base64 vectors, an odd layout) takes the JSON path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, cast

# In document order: a row's "index" or the start of its "embedding" array (either key
# first); the search resumes after each array, so the floats themselves are never scanned
# by the regex, only by one ``bytes.find`` for the closing bracket.
_ROW_PART = re.compile(rb'"(?:index"\s*:\s*(\d+)|embedding"\s*:\s*\[)')
_MODEL = re.compile(rb'"model"\s*:\s*("(?:[^"\\]|\\.)*")')
_PROMPT_TOKENS = re.compile(rb'"prompt_tokens"\s*:\s*(\d+)')


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
    fast = _split_arrays(body, counts, model)
    return fast if fast is not None else _split_json(body, counts, model)


def _split_json(body: bytes, counts: Sequence[int], model: str) -> list[bytes]:
    """:func:`split_embeddings` by parsing the reply (numbers kept as their text)."""
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


def _split_arrays(body: bytes, counts: Sequence[int], model: str) -> list[bytes] | None:
    """:func:`split_embeddings` by a regex pass, for replies of float arrays; ``None``
    when the reply is not plainly one ``index`` and one array per row."""
    total = sum(counts)
    vectors: list[bytes | None] = [None] * total
    index: int | None = None
    vector: bytes | None = None
    found = 0
    pos = 0
    first = -1
    while (match := _ROW_PART.search(body, pos)) is not None:
        if first < 0:
            first = match.start()
        number = match.group(1)
        pos = match.end()
        if number is not None:
            if index is not None:
                return None  # a row without an array (base64?): parse it properly
            index = int(number)
        else:
            end = body.find(b"]", pos)
            if vector is not None or end < 0 or body.find(b"[", pos, end) >= 0:
                return None
            vector = body[pos - 1 : end + 1]
            pos = end + 1
        if index is not None and vector is not None:
            if index >= total or vectors[index] is not None:
                return None
            vectors[index] = vector
            found += 1
            index = vector = None
    if found != total or index is not None or vector is not None:
        return None
    arrays = cast(list[bytes], vectors)  # every slot filled: found == total, no repeats
    # model and usage sit outside the data list: search only there, never the floats
    outside = (body[pos:], body[: max(first, 0)])
    name = _search(_MODEL, outside)
    if name is None or name == b'""':
        name = json.dumps(model).encode()
    usage = _search(_PROMPT_TOKENS, outside)
    tokens = int(usage) if usage else 0
    out: list[bytes] = []
    offset = 0
    for n in counts:
        share = b"%d" % (round(tokens * n / total) if total else 0)
        parts = [b'{"object":"list","data":[']
        for i in range(n):
            if i:
                parts.append(b",")
            parts += [b'{"object":"embedding","index":', b"%d" % i, b',"embedding":',
                      arrays[offset + i], b"}"]  # fmt: skip
        parts += [b'],"model":', name, b',"usage":{"prompt_tokens":', share,
                  b',"total_tokens":', share, b"}}"]  # fmt: skip
        out.append(b"".join(parts))
        offset += n
    return out


def _search(pattern: re.Pattern[bytes], places: Sequence[bytes]) -> bytes | None:
    for place in places:
        match = pattern.search(place)
        if match is not None:
            return match.group(1)
    return None
