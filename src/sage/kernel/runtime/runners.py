"""Batch-at-a-time execution of one operator, with its error policy applied.

Each operator turns a list of input records into a list of outputs. With the ``fail``
policy and no keyed context the hot path is a single list comprehension over the
user's function; otherwise a per-record loop sets ``ctx.current_key`` and catches
errors per record (``skip`` counts, ``dead_letter`` forwards a :class:`DeadLetter`).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from sage.common.errors import ConfigError, SageError
from sage.kernel.core.function import BaseFunction
from sage.kernel.core.job import OperatorMetrics
from sage.kernel.graph import DeadLetter, ErrorPolicy, OperatorSpec


class OperatorError(SageError):
    """A user function failed under the ``fail`` policy (or in open/close); the runtime
    turns it into the job's :class:`~sage.common.errors.JobFailedError`."""

    def __init__(self, operator: str, error: BaseException, traceback_text: str) -> None:
        super().__init__(f"{operator}: {type(error).__name__}: {error}")
        self.operator = operator
        self.error = error
        self.traceback_text = traceback_text


DeadLetterSink = Callable[[str, DeadLetter], None]


class OperatorRunner:
    """Runs one user function over batches for one task; what a record does is the
    operator's :class:`~sage.kernel.kinds.OperatorKind`, the error policy is applied here."""

    def __init__(self, spec: OperatorSpec, fn: BaseFunction, policy: ErrorPolicy,
                 dead_letter: DeadLetterSink | None) -> None:
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.fn = fn
        self.policy = policy
        self.metrics = OperatorMetrics()
        self._dead_letter = dead_letter
        self._fast = policy.mode == "fail"
        self._maps: dict[int, Callable[[Any], Any]] = {}
        self._call: Any = getattr(fn, spec.kind.method, None) or getattr(fn, "execute", None)
        if self._call is None and spec.function is not None and not spec.kind.per_port:
            raise ConfigError(f"{self.name}: {type(fn).__name__} has no execute()")

    # -- errors ---------------------------------------------------------------------
    def fail(self, exc: BaseException) -> OperatorError:
        return OperatorError(self.name, exc, traceback.format_exc())

    def _on_error(self, record: Any, exc: BaseException) -> None:
        if self.policy.mode == "skip":
            self.metrics.skipped += 1
            if self.metrics.skipped <= 3:
                self.fn.ctx.logger.warning("%s skipped a record: %r", self.name, exc)
            return
        if self.policy.mode == "dead_letter" and self._dead_letter is not None:
            self.metrics.dead_lettered += 1
            letter = DeadLetter(self.name, record, f"{type(exc).__name__}: {exc}",
                                traceback.format_exc())
            self._dead_letter(self.policy.dead_letter or "dead_letter", letter)
            return
        raise self.fail(exc) from exc

    def _function(self, port: int) -> Callable[..., Any]:
        if not self.kind.per_port:
            return self._call  # type: ignore[no-any-return]
        method = self._maps.get(port)
        if method is None:
            method = getattr(self.fn, f"map{port}", None)
            if method is None:
                raise ConfigError(f"{self.name}: CoMapFunction has no map{port}")
            self._maps[port] = method
        return method

    # -- data path ------------------------------------------------------------------
    def process(self, records: list[Any], port: int = 0,
                keys: list[Any] | None = None) -> list[Any]:
        """Outputs for ``records`` arriving on input ``port`` (``keys`` if keyed)."""
        self.metrics.records_in += len(records)
        kind = self.kind
        batch = kind.batch
        if batch is not None and (kind.each is None or self._fast and keys is None):
            try:
                out = batch(self._function(port), records)
            except OperatorError:
                raise
            except Exception as exc:
                if self._fast:
                    raise self.fail(exc) from exc
                for r in records:  # a whole-batch function: the policy covers each record
                    self._on_error(r, exc)
                return []
        else:
            out = self._process_each(records, port, keys)
        self.metrics.records_out += len(out)
        return out

    def _process_each(self, records: list[Any], port: int,
                      keys: list[Any] | None) -> list[Any]:
        out: list[Any] = []
        ctx = self.fn.ctx
        each = self.kind.each
        assert each is not None
        f = self._function(port)
        if self.kind.collects:
            self.fn._collected = out  # type: ignore[attr-defined]
        for i, r in enumerate(records):
            key = None
            if keys is not None:
                key = keys[i]
                ctx.current_key = key
            mark = len(out)
            try:
                each(f, r, key, port, out)
            except OperatorError:
                raise
            except Exception as exc:
                del out[mark:]
                self._on_error(r, exc)
        return out

    def close(self) -> list[Any]:
        """Call the function's ``close()``; a flatmap may ``collect`` final records."""
        out: list[Any] = []
        if self.kind.collects:
            self.fn._collected = out  # type: ignore[attr-defined]
        try:
            self.fn.close()
        except Exception as exc:
            raise self.fail(exc) from exc
        self.metrics.records_out += len(out)
        return out


class SourceRunner(OperatorRunner):
    """Pulls up to a batch from a source function.

    ``next_batch`` returns ``(records, exhausted)``. Functions may offer a fast
    ``next_batch(n)`` themselves (the built-in iterable source does); otherwise
    ``execute()`` is called up to ``n`` times: ``None`` ends a bounded source and means
    "nothing right now" for an unbounded one.
    """

    def next_batch(self, n: int) -> tuple[list[Any], bool]:
        fn_batch = getattr(self.fn, "next_batch", None)
        try:
            if fn_batch is not None:
                records, exhausted = fn_batch(n)
            else:
                records, exhausted = self._pull(n)
        except OperatorError:
            raise
        except Exception as exc:
            if self.policy.mode == "fail":
                raise self.fail(exc) from exc
            self._on_error(None, exc)
            records, exhausted = [], False
        self.metrics.records_out += len(records)
        return records, exhausted

    def _pull(self, n: int) -> tuple[list[Any], bool]:
        out: list[Any] = []
        f = self._call
        bounded = self.spec.bounded
        for _ in range(n):
            try:
                r = f()
            except Exception as exc:
                if self._fast:
                    raise self.fail(exc) from exc
                self._on_error(None, exc)
                continue
            if r is None:
                return out, bounded
            out.append(r)
        return out, False
