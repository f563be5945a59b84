"""Constrained tool calling on BFCL ``simple_python``: how many replies are schema-valid
calls, how many match the ground truth (BFCL's AST check, simplified), and what the
grammar costs against free decoding of the same prompt.

``python -m sage.benchmark.constrained --url http://127.0.0.1:8001 --data ../shared/data/bfcl``
(any OpenAI base URL: an engine or the gateway). Free decoding gets the very prompt the
engine builds for tools (as a system message, no ``tools``), so only the grammar differs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sage.benchmark.agent.bfcl import default_bfcl_dir
from sage.llm.engines.llama_tools import normalize_schema, tools_system_prompt
from sage.llm.protocol import ChatCompletionRequest


@dataclass
class Item:
    id: str
    question: list[dict[str, str]]
    tools: list[dict[str, Any]]
    names: dict[str, str]  # our tool name -> BFCL's (dots are not allowed by OpenAI)
    answer: list[dict[str, dict[str, list[Any]]]] = field(default_factory=list)


def load_items(data: Path) -> list[Item]:
    answers = {}
    for line in (data / "possible_answer" / "BFCL_v4_simple_python.json").open():
        row = json.loads(line)
        answers[row["id"]] = row["ground_truth"]
    items = []
    for line in (data / "BFCL_v4_simple_python.json").open():
        row = json.loads(line)
        names = {f["name"].replace(".", "_"): f["name"] for f in row["function"]}
        tools = [
            {"type": "function", "function": {**f, "name": f["name"].replace(".", "_")}}
            for f in row["function"]
        ]
        items.append(Item(row["id"], row["question"][0], tools, names, answers.get(row["id"], [])))
    return items


def schema_valid(call: dict[str, Any], item: Item) -> bool:
    """The call names an offered tool and its arguments validate against its schema."""
    import jsonschema

    by_name = {t["function"]["name"]: t["function"]["parameters"] for t in item.tools}
    name = call["function"]["name"]
    if name not in by_name:
        return False
    try:
        arguments = json.loads(call["function"]["arguments"])
        jsonschema.validate(arguments, normalize_schema(by_name[name]))
    except (ValueError, jsonschema.ValidationError):
        return False
    return isinstance(arguments, dict)


def ast_match(call: dict[str, Any], item: Item) -> bool:
    """BFCL's AST check, simplified: right function, every given argument among the
    accepted values, every required one given ("" in the accepted list: optional)."""
    name = item.names.get(call["function"]["name"], call["function"]["name"])
    arguments = json.loads(call["function"]["arguments"])
    for truth in item.answer:
        if name not in truth:
            continue
        accepted = truth[name]
        if any(arg not in accepted for arg in arguments):
            return False
        for arg, values in accepted.items():
            if arg in arguments:
                if not any(_same(arguments[arg], v) for v in values):
                    return False
            elif "" not in values:
                return False
        return True
    return False


def _same(given: Any, expected: Any) -> bool:
    if isinstance(given, str) and isinstance(expected, str):
        return given.strip().lower() == expected.strip().lower()
    return bool(given == expected)


def _post(client: httpx.Client, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Seconds and the reply; an error reply (say, a schema the engine refuses) is
    returned as a reply without choices, so it counts as a failed item, not a crash."""
    start = time.perf_counter()
    reply = client.post("/v1/chat/completions", json=body)
    seconds = time.perf_counter() - start
    if reply.status_code != 200:
        print(f"  {reply.status_code}: {reply.text[:200]}", file=sys.stderr)
        empty = {"message": {}}
        return seconds, {"choices": [empty], "usage": {"completion_tokens": 0}, "error": reply.text}
    return seconds, reply.json()


def constrained_body(item: Item, model: str, max_tokens: int, choice: str) -> dict[str, Any]:
    return {"model": model, "messages": item.question, "tools": item.tools, "tool_choice": choice,
            "temperature": 0, "max_tokens": max_tokens}  # fmt: skip


def free_body(item: Item, model: str, max_tokens: int) -> dict[str, Any]:
    """The same prompt as the constrained request, decoded without a grammar."""
    request = ChatCompletionRequest.model_validate(constrained_body(item, model, 1, "required"))
    system = {"role": "system", "content": tools_system_prompt(request) or ""}
    return {"model": model, "messages": [system, *item.question], "temperature": 0,
            "max_tokens": max_tokens}  # fmt: skip


def run_validity(client: httpx.Client, items: list[Item], model: str, max_tokens: int,
                 choice: str = "required", log: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Every item once: rates of calls, schema-valid calls and AST matches (one JSON
    line per item appended to ``log``, so a run cut short still counts)."""
    calls = valid = matched = cut = 0
    latencies = []
    for i, item in enumerate(items):
        seconds, reply = _post(client, constrained_body(item, model, max_tokens, choice))
        latencies.append(seconds)
        if i % 25 == 0:
            print(f"{choice} {i}/{len(items)}: {valid} valid", file=sys.stderr, flush=True)
        tool_calls = reply["choices"][0]["message"].get("tool_calls") or []
        finish = reply["choices"][0].get("finish_reason")
        calls += bool(tool_calls)
        ok = bool(tool_calls) and all(schema_valid(c, item) for c in tool_calls)
        hit = ok and ast_match(tool_calls[0], item)
        if ok:
            valid += 1
            matched += hit
            cut += finish == "length"  # closed early to fit max_tokens
        else:
            print(f"  {item.id}: no valid call (finish_reason {finish})", file=sys.stderr)
        if log is not None:
            row = {"id": item.id, "valid": ok, "ast": hit, "finish_reason": finish,
                   "seconds": seconds, "tokens": reply["usage"]["completion_tokens"]}  # fmt: skip
            with log.open("a") as out:
                out.write(json.dumps(row) + "\n")
    n = len(items)
    return {"tool_choice": choice, "items": n, "call_rate": calls / n, "valid_rate": valid / n,
            "ast_accuracy": matched / n, "valid_but_cut": cut,
            "median_s": statistics.median(latencies)}  # fmt: skip


def run_latency(client: httpx.Client, items: list[Item], model: str, max_tokens: int,
                repeats: int) -> dict[str, Any]:  # fmt: skip
    """Constrained vs free decoding of the same prompts, whole passes interleaved so
    both see the same load and the same prompt-cache state (the previous item's)."""
    runs: dict[str, list[list[tuple[float, int]]]] = {"constrained": [], "free": []}
    for _ in range(repeats):
        for mode in runs:
            rows = []
            for item in items:
                body = (constrained_body(item, model, max_tokens, "required")
                        if mode == "constrained" else free_body(item, model, max_tokens))  # fmt: skip
                seconds, reply = _post(client, body)
                rows.append((seconds, int(reply["usage"]["completion_tokens"])))
            runs[mode].append(rows)
            print(f"latency {mode}: pass done", file=sys.stderr, flush=True)
    out: dict[str, Any] = {"items": len(items), "repeats": repeats}
    for mode, passes in runs.items():
        medians = [statistics.median(s for s, _ in rows) for rows in passes]
        per_token = [statistics.median(s / max(1, t) for s, t in rows) for rows in passes]
        out[mode] = {
            "median_s": statistics.median(medians),
            "pass_medians_s": medians,
            "median_tokens": statistics.median(t for rows in passes for _, t in rows),
            "median_s_per_token": statistics.median(per_token),
            "pass_medians_s_per_token": per_token,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--data", type=Path, default=None, help="BFCL folder (default: "
                        "$SAGE_BFCL_DIR, else ../shared/data/bfcl)")  # fmt: skip
    parser.add_argument("--model", default="default")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--limit", type=int, default=None, help="items for the validity run")
    parser.add_argument("--stride", type=int, default=1, help="every k-th item (a spread subset)")
    parser.add_argument("--ids", default=None, help="only these items, comma-separated "
                        "(simple_python_16 or 16)")  # fmt: skip
    parser.add_argument("--latency-items", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--auto-items", type=int, default=40)
    parser.add_argument("-o", "--out", type=Path, default=None)
    parser.add_argument("--log", type=Path, default=None, help="a JSON line per item")
    args = parser.parse_args()
    items = load_items(args.data or default_bfcl_dir())[:: args.stride][: args.limit]
    if args.ids:
        wanted = {i if "_" in i else f"simple_python_{i}" for i in args.ids.split(",")}
        items = [item for item in items if item.id in wanted]
    with httpx.Client(base_url=args.url.rstrip("/").removesuffix("/v1"), timeout=600) as client:
        result = {"required": run_validity(client, items, args.model, args.max_tokens,
                                           log=args.log)}  # fmt: skip
        if args.auto_items > 0:
            result["auto"] = run_validity(client, items[: args.auto_items], args.model,
                                          args.max_tokens, "auto")  # fmt: skip
        if args.latency_items > 0:
            result["latency"] = run_latency(client, items[: args.latency_items], args.model,
                                            args.max_tokens, args.repeats)  # fmt: skip
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
