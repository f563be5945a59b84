"""``-t calling``: does the model make the right call? Each BFCL item's functions go to
an OpenAI-compatible endpoint as ``tools`` (``tool_choice: auto``), the returned
``tool_calls`` are scored with BFCL's AST check (:mod:`ast_checker`). Works against the
SAGE gateway (constrained decoding makes every call schema-valid) or any vLLM/OpenAI URL.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from sage.benchmark.agent.ast_checker import Call, check_item
from sage.benchmark.agent.runner import ItemResult
from sage.benchmark.agent.schema import AgentItem

# BFCL's type names -> JSON Schema's
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}
_KEEP = ("description", "enum", "required")
_BAD_NAME = re.compile(r"[^a-zA-Z0-9_-]")


def json_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter spec as standard JSON Schema (``dict`` -> ``object``, ...)."""
    out: dict[str, Any] = {k: spec[k] for k in _KEEP if k in spec}
    kind = spec.get("type")
    mapped = _TYPES.get(kind, kind) if isinstance(kind, str) else None
    if mapped:
        out["type"] = mapped
    if isinstance(spec.get("properties"), dict):
        out["properties"] = {k: json_schema(v) for k, v in spec["properties"].items()}
    if isinstance(spec.get("items"), dict):
        out["items"] = json_schema(spec["items"])
    return out


def openai_tools(functions: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The functions as OpenAI ``tools`` (names made API-safe: ``math.sum`` ->
    ``math_sum``) and the map back to BFCL's names."""
    tools, names = [], {}
    for f in functions:
        safe = _BAD_NAME.sub("_", f["name"])[:64]
        names[safe] = f["name"]
        params = json_schema(f.get("parameters") or {"type": "dict", "properties": {}})
        params.setdefault("type", "object")
        tools.append(
            {
                "type": "function",
                "function": {"name": safe, "description": f.get("description", ""), "parameters": params},
            }
        )
    return tools, names


def decode_calls(tool_calls: Sequence[Any], names: dict[str, str]) -> tuple[list[Call], bool]:
    """``[{bfcl_name: args}]`` and whether every call named an offered tool with JSON
    object arguments (schema-valid as far as the checker cares)."""
    calls, valid = [], True
    for tc in tool_calls:
        fn = tc["function"] if isinstance(tc, dict) else tc.function
        name = fn["name"] if isinstance(fn, dict) else fn.name
        raw = fn["arguments"] if isinstance(fn, dict) else fn.arguments
        try:
            args = json.loads(raw or "{}")
        except ValueError:
            args, valid = {}, False
        if not isinstance(args, dict):
            args, valid = {}, False
        if name not in names:
            valid = False
        calls.append({names.get(name, name): args})
    return calls, valid


class ToolCaller:
    """Asks one OpenAI-compatible endpoint for tool calls (official ``openai`` SDK)."""

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None,
                 max_tokens: int = 256, timeout: float = 300.0, tool_choice: str = "auto") -> None:
        from openai import OpenAI

        url = base_url.rstrip("/")
        self.client = OpenAI(
            base_url=url if url.endswith("/v1") else url + "/v1",
            api_key=api_key or "unused",
            timeout=timeout,
        )
        self.model = model
        self.max_tokens = max_tokens
        self.tool_choice = tool_choice  # "required": a call is forced (irrelevance then fails)

    def __call__(self, question: str, tools: list[dict[str, Any]]) -> tuple[list[Any], int]:
        """(tool_calls, total tokens) for one user question."""
        kwargs: dict[str, Any] = {"tools": tools, "tool_choice": self.tool_choice} if tools else {}
        reply = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": question}],
            max_tokens=self.max_tokens,
            temperature=0.0,
            **kwargs,
        )
        tokens = reply.usage.total_tokens if reply.usage else 0
        return list(reply.choices[0].message.tool_calls or []), int(tokens)


Caller = Callable[[str, list[dict[str, Any]]], tuple[list[Any], int]]


def run_calling(
    dataset: str,
    model: str,
    items: Sequence[AgentItem],
    caller: Caller,
    on_item: Callable[[], None] | None = None,
) -> list[ItemResult]:
    """Score every calling item; a request that fails counts as wrong, with its error."""
    results = []
    for item in items:
        functions = list(item.meta.get("functions") or [])
        answers = list(item.meta.get("answer") or [])
        category = str(item.meta.get("source", ""))
        tools, names = openai_tools(functions)
        start = time.perf_counter()
        error, calls, valid, tokens = None, [], False, 0
        try:
            raw, tokens = caller(item.instruction, tools)
            calls, valid = decode_calls(raw, names)
        except Exception as exc:  # a failed request is a wrong answer, not a crash
            error = f"{type(exc).__name__}: {exc}"
        verdict = check_item(category, functions, calls, answers)
        verdict_error = "request_failed" if error else verdict.error or None
        results.append(
            ItemResult(
                dataset=dataset,
                task="calling",
                strategy=model,
                item_id=item.id,
                group=category,
                pool_size=len(functions),
                latency_s=time.perf_counter() - start,
                tokens=tokens,
                llm_calls=1,
                fallback=False,
                fallback_reason=verdict_error,
                error=error,
                prediction=calls,
                gold=answers,
                scores={
                    "ast_accuracy": 1.0 if verdict.valid and not error else 0.0,
                    "called": 1.0 if calls else 0.0,
                    "schema_valid": 1.0 if calls and valid else 0.0,
                },
            )
        )
        if on_item:
            on_item()
    return results
