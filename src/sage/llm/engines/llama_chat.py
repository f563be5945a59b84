"""``/v1/chat/completions`` on a llama.cpp context: the prompt (the model's own chat
template, tools and JSON hints as a system turn), constrained decoding, ``n`` choices,
and OpenAI's reply or chunks (text, ``tool_calls``, ``logprobs``, exact ``usage``).

Runs in the slot's worker thread; the engine hands chunks to the event loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from sage.llm.engines.llama_generate import Outcome, Sampling, TokenLogprob, generate
from sage.llm.engines.llama_tools import (
    grammar_for,
    parse_tool_calls,
    render_tool_calls,
    response_format_prompt,
    tools_system_prompt,
)
from sage.llm.engines.prompt_guard import mark_text
from sage.llm.openai_errors import OpenAIError
from sage.llm.protocol.chat import ChatCompletionRequest

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Fields OpenAI defines that this engine cannot honour: a 400 rather than ignored.
UNSUPPORTED = {
    "functions": "use tools",
    "function_call": "use tool_choice",
    "audio": "this engine makes text only",
    "prediction": "predicted outputs are not supported",
    "web_search_options": "web search is not supported",
}


def chat_formatter(llm: Any) -> Any:
    """The model's own chat template (ChatML when the GGUF has none)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text(token: int) -> str:
        return llm._model.token_get_text(token) if token != -1 else ""

    template = llm.metadata.get("tokenizer.chat_template") or CHATML
    return Jinja2ChatFormatter(template, text(llm.token_eos()), text(llm.token_bos()))


def check_supported(body: ChatCompletionRequest) -> None:
    """400 naming the first field or content part this text model cannot honour."""
    extra = body.extra_fields()
    for name, why in UNSUPPORTED.items():
        if extra.get(name) is not None:
            raise OpenAIError(400, f"{name} is not supported: {why}", param=name)
    modalities = extra.get("modalities")
    if modalities is not None and modalities != ["text"]:
        raise OpenAIError(400, "this engine makes text only", param="modalities")
    for i, message in enumerate(body.messages):
        for j, kind in message.non_text_parts():
            raise OpenAIError(
                400,
                f"this model reads text only; messages[{i}].content[{j}] is {kind!r}",
                param=f"messages.{i}.content.{j}",
                code="unsupported_content",
            )


def chat_prompt(llm: Any, formatter: Any, body: ChatCompletionRequest) -> list[int]:
    """Prompt tokens: every client text marked so it is tokenized as text only."""
    messages: list[dict[str, str]] = []
    for message in body.messages:
        content = message.text()
        if message.tool_calls:
            content = "\n".join(filter(None, [content, render_tool_calls(message.tool_calls)]))
        role = "system" if message.role == "developer" else message.role
        messages.append({"role": role, "content": content})
    hints = [h for h in (tools_system_prompt(body), response_format_prompt(body)) if h]
    if hints:
        if messages[0]["role"] == "system":
            messages[0]["content"] = "\n\n".join([*hints, messages[0]["content"]])
        else:
            messages.insert(0, {"role": "system", "content": "\n\n".join(hints)})
    for message in messages:
        message["content"] = mark_text(message["content"])
    prompt = formatter(messages=messages).prompt
    return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


def _logprobs(entries: list[TokenLogprob]) -> dict[str, Any]:
    return {
        "content": [
            {
                "token": e.token,
                "logprob": e.logprob,
                "bytes": e.bytes,
                "top_logprobs": [{"token": t, "logprob": lp, "bytes": b} for t, b, lp in e.top],
            }
            for e in entries
        ]
    }


# A small model can loop inside a call's arguments ("Louvre_2022_2022_...") until
# max_tokens cuts the call; a light penalty breaks the loop (BFCL simple_python: the 4
# cut calls of 100 became valid, none of 30 others broke). A request's own value wins.
TOOL_CALL_REPETITION_PENALTY = 1.1


class ChatRun:
    """One chat request on one llama.cpp context."""

    def __init__(self, llm: Any, formatter: Any, body: ChatCompletionRequest, n_ctx: int) -> None:
        check_supported(body)
        self.llm, self.body, self.n_ctx = llm, body, n_ctx
        self.prompt = chat_prompt(llm, formatter, body)
        self.sampling = Sampling.from_request(
            body, top_logprobs=(body.top_logprobs or 0) if body.logprobs else None
        )
        self.sampling.grammar = grammar_for(body)
        self.tools_on = body.effective_tool_choice != "none"
        if self.tools_on and body.repetition_penalty is None:
            self.sampling.repeat_penalty = TOOL_CALL_REPETITION_PENALTY
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.completion_tokens = 0

    def _sampling(self, index: int) -> Sampling:
        seed = self.sampling.seed
        return replace(self.sampling, seed=None if seed is None else seed + index)

    def usage(self) -> dict[str, int]:
        prompt = len(self.prompt)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": self.completion_tokens,
            "total_tokens": prompt + self.completion_tokens,
        }

    def _message(self, text: str, finish: str) -> tuple[dict[str, Any], str]:
        parsed = parse_tool_calls(text) if self.tools_on else None
        if parsed:
            # cut short, or closed early by the grammar to fit max_tokens: the finished
            # calls, finish_reason "length"
            calls, closed = parsed
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            return message, "tool_calls" if closed and finish == "stop" else finish
        return {"role": "assistant", "content": text}, finish

    def response(self, model: str, cancelled: threading.Event | None = None) -> dict[str, Any]:
        choices = []
        for index in range(self.body.n):
            outcome = Outcome()
            deltas = list(generate(self.llm, self.prompt, self._sampling(index), self.n_ctx,
                                   cancelled, outcome))  # fmt: skip
            self.completion_tokens += outcome.completion_tokens
            message, finish = self._message("".join(d.text for d in deltas), outcome.finish_reason)
            logprobs = [e for d in deltas for e in d.logprobs]
            choices.append({
                "index": index,
                "message": message,
                "logprobs": _logprobs(logprobs) if self.body.logprobs else None,
                "finish_reason": finish,
            })  # fmt: skip
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": model,
            "choices": choices,
            "usage": self.usage(),
        }

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None,
               logprobs: list[TokenLogprob] | None = None) -> dict[str, Any]:  # fmt: skip
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
        if self.body.logprobs:
            choice["logprobs"] = _logprobs(logprobs or [])
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "choices": [choice],
        }

    def chunks(self, cancelled: threading.Event) -> Iterator[dict[str, Any]]:
        """Chunks of every choice in turn, then the usage chunk (``choices: []``) unless
        ``stream_options.include_usage`` is false. With tools, a reply that starts a call
        is held until the call list is complete, then sent as ``tool_calls`` deltas."""
        for index in range(self.body.n):
            yield self._chunk(index, {"role": "assistant", "content": ""})
            outcome = Outcome()
            held: list[str] = []
            held_logprobs: list[TokenLogprob] = []
            calling: bool | None = None if self.tools_on else False  # decided by the 1st char
            for delta in generate(self.llm, self.prompt, self._sampling(index), self.n_ctx,
                                  cancelled, outcome):  # fmt: skip
                if calling is None and delta.text.strip():
                    calling = delta.text.lstrip().startswith("<")
                if calling is not False:
                    held.append(delta.text)
                    held_logprobs += delta.logprobs
                elif delta.text or delta.logprobs:
                    yield self._chunk(index, {"content": delta.text}, logprobs=delta.logprobs)
            self.completion_tokens += outcome.completion_tokens
            finish = outcome.finish_reason
            if held:
                message, finish = self._message("".join(held), finish)
                calls = message.get("tool_calls")
                delta_out = (
                    {"tool_calls": [{"index": k, **c} for k, c in enumerate(calls)]}
                    if calls else {"content": message["content"]}
                )  # fmt: skip
                yield self._chunk(index, delta_out, logprobs=held_logprobs)
            yield self._chunk(index, {}, finish)
            if outcome.stopped:  # no time left for the other choices
                break
        if self.body.include_usage:
            yield {**self._chunk(0, {}), "choices": [], "usage": self.usage()}
