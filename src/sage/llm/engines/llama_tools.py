"""Tool calls and JSON output for a llama.cpp model by constrained decoding.

The model is shown the tools the way SmolLM2 was tuned for function calling (a JSON
list in ``<tools>`` and calls as ``<tool_call>[{"name", "arguments"}]</tool_call>``)
and decoded under a Lark grammar whose JSON parts llguidance compiles from the schemas:
with ``auto`` the grammar is "plain text (not starting with ``<``) or a call list",
with ``required`` or a named function only calls. Every call therefore names an offered
tool and has schema-valid arguments, whatever the model's size.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sage.llm.protocol.chat import ChatCompletionRequest, NamedToolChoice, ResponseFormatJSONSchema

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"

# Python-ish type names some tool catalogs use (BFCL's "dict", "float", ...).
_TYPE_ALIASES = {
    "dict": "object", "float": "number", "int": "integer", "bool": "boolean",
    "str": "string", "list": "array", "tuple": "array",
}  # fmt: skip
_ANY = ["string", "number", "integer", "boolean", "object", "array", "null"]

TOOLS_PROMPT = """You are an expert in composing functions. You are given a question and a set \
of possible functions. Based on the question, you will need to make one or more function/tool \
calls to achieve the purpose. {when}

You have access to the following tools:
<tools>{tools}</tools>

To call tools, answer only in this format, with argument values taken from the question:
<tool_call>[{{"name": "func_name1", "arguments": {{"argument1": "value1"}}}}]</tool_call>"""

_WHEN = {
    "auto": "If none of the functions fits, answer the question directly in plain text.",
    "required": "You must call at least one of the functions.",
}


def normalize_schema(schema: Any) -> Any:
    """``schema`` with Python-ish type names made JSON Schema (``any``: every type)."""
    if isinstance(schema, list):
        return [normalize_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: normalize_schema(v) for k, v in schema.items()}
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = _ANY if kind == "any" else _TYPE_ALIASES.get(kind, kind)
    return out


def _offered(body: ChatCompletionRequest) -> list[Any]:
    choice = body.effective_tool_choice
    tools = body.tools or []
    if isinstance(choice, NamedToolChoice):
        return [t for t in tools if t.function.name == choice.function.name]
    return tools


def tools_system_prompt(body: ChatCompletionRequest) -> str | None:
    """The system text that presents the tools, or None when no call is possible."""
    choice = body.effective_tool_choice
    if choice == "none":
        return None
    catalog = [
        {
            "name": t.function.name,
            "description": t.function.description or "",
            "parameters": normalize_schema(t.function.parameters or {"type": "object"}),
        }
        for t in _offered(body)
    ]
    when = _WHEN["auto"] if choice == "auto" else _WHEN["required"]
    return TOOLS_PROMPT.format(when=when, tools=json.dumps(catalog, ensure_ascii=False))


def response_format_prompt(body: ChatCompletionRequest) -> str | None:
    """A system hint for JSON output: a small model follows a schema it can read."""
    fmt = body.response_format
    if isinstance(fmt, ResponseFormatJSONSchema):
        schema = json.dumps(fmt.json_schema.schema_ or {"type": "object"}, ensure_ascii=False)
        return f"Respond only with a JSON object that follows this JSON schema: {schema}"
    if fmt is not None and fmt.type == "json_object":
        return "Respond only with a JSON object."
    return None


# Free-text leaves of a tool call's arguments are bounded, so a small model caught in a
# repetition loop closes its string (or list) instead of running into ``max_tokens`` with
# an unparseable call; a schema's own bounds win. A free string holds no control
# characters (no escaped newline to start prose on) and no markup the model could take
# for the end of its call (``</tool_call>``, ``<tool_call>``, ``<|im_end|>``); a "<"
# before anything else ("x < 5", "<=") is fine. Numbers get at most 16 integer and 10
# fraction digits (a model can loop on digits). JSON may put one space between tokens,
# as the prompt's example does, never a newline or an indent a model could loop on.
TOOL_STRING_MAX_CHARS = 256
TOOL_STRING_PATTERN = r"^([^<\u0000-\u001f]|<+[^</t|\u0000-\u001f])*<*$"
TOOL_ARRAY_MAX_ITEMS = 64
TOOL_NUMBER_BOUND = 10**15
TOOL_NUMBER_STEP = 1e-10
_WHITESPACE = {"whitespace_pattern": " ?"}


def _bound_numbers(out: dict[str, Any], kinds: list[Any]) -> None:
    if "number" not in kinds and "integer" not in kinds:
        return
    if not any(k in out for k in ("minimum", "exclusiveMinimum")):
        out["minimum"] = -TOOL_NUMBER_BOUND
    if not any(k in out for k in ("maximum", "exclusiveMaximum")):
        out["maximum"] = TOOL_NUMBER_BOUND
    if "number" in kinds and "multipleOf" not in out:
        out["multipleOf"] = TOOL_NUMBER_STEP


def bound_free_text(schema: Any) -> Any:
    """``schema`` with a length cap and a no-markup pattern on free strings, bounded
    numbers and arrays, and no properties beyond the declared ones (a tool's arguments
    are the ones it names)."""
    if isinstance(schema, list):
        return [bound_free_text(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: bound_free_text(v) for k, v in schema.items()}
    kinds = out.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    free = not any(k in out for k in ("enum", "const", "pattern", "format"))
    if "string" in kinds and free:
        out.setdefault("maxLength", TOOL_STRING_MAX_CHARS)
        out["pattern"] = TOOL_STRING_PATTERN
    if free:
        _bound_numbers(out, kinds)
    if "array" in kinds and "maxItems" not in out:
        out["maxItems"] = TOOL_ARRAY_MAX_ITEMS
    if "object" in kinds and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _json_rule(schema: dict[str, Any]) -> str:
    """A Lark ``%json`` rule for ``schema`` (llguidance compiles JSON schemas natively)."""
    return "%json " + json.dumps({**schema, "x-guidance": _WHITESPACE}, ensure_ascii=False)


def _calls_schema(body: ChatCompletionRequest) -> dict[str, Any]:
    variants = [
        {
            "type": "object",
            "properties": {
                "name": {"const": t.function.name},
                "arguments": bound_free_text(
                    normalize_schema(t.function.parameters or {"type": "object"})
                ),
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in _offered(body)
    ]
    items = variants[0] if len(variants) == 1 else {"anyOf": variants}
    schema: dict[str, Any] = {"type": "array", "items": items, "minItems": 1}
    if body.parallel_tool_calls is False or isinstance(body.effective_tool_choice, NamedToolChoice):
        schema["maxItems"] = 1
    return schema


def grammar_text(body: ChatCompletionRequest) -> str | None:
    """Lark (llguidance) for what this request allows the model to say, or None for free text."""
    choice = body.effective_tool_choice
    if choice != "none":
        call = f'"{CALL_OPEN}" {_json_rule(_calls_schema(body))} "{CALL_CLOSE}"'
        if choice != "auto":
            return f"start: {call}"
        return f"start: call | text\ncall: {call}\ntext: /[^<\\x00][^\\x00]*/"
    if body.response_format is not None and body.response_format.type != "text":
        fmt = body.response_format
        schema: dict[str, Any] = {"type": "object"}
        if isinstance(fmt, ResponseFormatJSONSchema) and fmt.json_schema.schema_ is not None:
            schema = normalize_schema(fmt.json_schema.schema_)
        return f"start: {_json_rule(schema)}"
    return None


def grammar_for(body: ChatCompletionRequest) -> str | None:
    """The llguidance grammar for ``body`` (None for free text)."""
    text = grammar_text(body)
    if text is None:
        return None
    from sage.llm.engines.guided import compile_grammar

    param = "tools" if body.effective_tool_choice != "none" else "response_format"
    return compile_grammar(text, param)


def _complete_calls(inner: str) -> tuple[list[Any], bool]:
    """The call objects of a JSON list, and whether the list was closed: a reply cut at
    ``max_tokens`` (a small model repeating calls) still yields the calls it finished."""
    decoder = json.JSONDecoder()
    text = inner.lstrip()
    if not text.startswith("["):
        return [], False
    calls: list[Any] = []
    pos = 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            return calls, False
        if text[pos] == "]":
            return calls, True
        try:
            call, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return calls, False
        calls.append(call)


def parse_tool_calls(text: str) -> tuple[list[dict[str, Any]], bool] | None:
    """OpenAI ``tool_calls`` from a reply and whether the call list was complete, or None
    when the reply is plain text (or was cut before its first call was complete)."""
    stripped = text.strip()
    if not stripped.startswith(CALL_OPEN):
        return None
    calls, closed = _complete_calls(stripped[len(CALL_OPEN) :].removesuffix(CALL_CLOSE))
    calls = [c for c in calls if isinstance(c, dict)]
    if not calls:
        return None
    return [
        {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {
                "name": str(call.get("name", "")),
                "arguments": json.dumps(call.get("arguments", {}), ensure_ascii=False),
            },
        }
        for call in calls
    ], closed


def render_tool_calls(calls: list[Any]) -> str:
    """An assistant turn's earlier ``tool_calls`` in the form the model writes them."""
    items = []
    for call in calls:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = call.function.arguments
        items.append({"name": call.function.name, "arguments": arguments})
    return f"{CALL_OPEN}{json.dumps(items, ensure_ascii=False)}{CALL_CLOSE}"
