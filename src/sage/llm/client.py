"""A small OpenAI-protocol client for SAGE's gateway or any compatible endpoint.

Operators, agents and benchmarks take their model calls through this (or anything
with the same methods), so pointing SAGE at a bigger engine is a URL change.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from sage.llm.chat_reply import ChatReply, json_schema_format


class LLMClient:
    """Synchronous client for ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        embedding_model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.embedding_model = embedding_model
        key = api_key or os.environ.get("SAGE_API_KEY")
        hdrs = dict(headers or {})
        if key:
            hdrs["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=hdrs)
        # Total tokens the server reported in ``usage`` over this client's calls, so
        # callers can meter cost without re-implementing the calls.
        self.tokens_used = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        if response.is_error:  # keep the server's OpenAI error message, not just the code
            try:
                detail = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                detail = response.text[:500]
            raise httpx.HTTPStatusError(f"{response.status_code} from {path}: {detail}",
                                        request=response.request, response=response)
        data: dict[str, Any] = response.json()
        usage = data.get("usage") or {}
        self.tokens_used += int(usage.get("total_tokens") or 0)
        return data

    def models(self) -> list[dict[str, Any]]:
        response = self._http.get("/models")
        response.raise_for_status()
        return list(response.json().get("data", []))

    def chat(
        self,
        messages: list[dict[str, Any]] | str,
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
        model: str | None = None,
        **extra: Any,
    ) -> str:
        """The assistant's reply text for ``messages`` (a string is one user turn).

        Any other OpenAI field (``stop``, ``seed``, ``response_format``, ...) goes in
        ``extra``; use :meth:`chat_message` to get tool calls back."""
        return self.chat_message(messages, max_tokens=max_tokens, temperature=temperature,
                                 model=model, **extra).content

    def chat_message(
        self,
        messages: list[dict[str, Any]] | str,
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
        model: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | None = None,
        **extra: Any,
    ) -> ChatReply:
        """The whole first choice: text, ``tool_calls`` and finish reason.

        ``tools``/``tool_choice``/``response_format`` are OpenAI's fields, sent as given
        (``sage.llm.chat_reply.function_tool`` and ``json_schema_format`` build them)."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        body: dict[str, Any] = {
            "model": model or self.model or "default",
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            **extra,
        }
        for key, value in (("tools", tools), ("tool_choice", tool_choice),
                           ("response_format", response_format)):
            if value is not None:
                body[key] = value
        return ChatReply.from_response(self._post("/chat/completions", body))

    def chat_json(
        self,
        messages: list[dict[str, Any]] | str,
        schema: dict[str, Any],
        *,
        name: str = "answer",
        max_tokens: int = 256,
        **extra: Any,
    ) -> Any:
        """A reply constrained to the JSON Schema ``schema`` (strict ``json_schema``
        ``response_format``), parsed; ``ValueError`` if the server returned no JSON."""
        reply = self.chat_message(messages, max_tokens=max_tokens,
                                  response_format=json_schema_format(schema, name), **extra)
        return reply.json()

    def complete(
        self, prompt: str, *, max_tokens: int = 128, temperature: float = 0.0, **extra: Any
    ) -> str:
        body = {
            "model": self.model or "default",
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            **extra,
        }
        return str(self._post("/completions", body)["choices"][0]["text"])

    def embed(self, texts: list[str] | str, *, model: str | None = None) -> list[list[float]]:
        """One vector per input text, in input order."""
        inputs = [texts] if isinstance(texts, str) else list(texts)
        if not inputs:
            return []
        body = {"model": model or self.embedding_model or "default", "input": inputs}
        data = sorted(self._post("/embeddings", body)["data"], key=lambda d: d["index"])
        return [list(d["embedding"]) for d in data]
