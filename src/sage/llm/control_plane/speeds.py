"""Live per-engine speed estimates, learned from the replies the control plane relays.

Deadline-aware policies read ``EngineState.decode_tokens_per_s``,
``prefill_tokens_per_s`` and ``embed_items_per_s``; nobody has to declare them. Each
figure is an exponentially weighted moving average (EWMA) of a per-unit time, so one
slow call moves it a little and a lasting change moves it all the way:

* decode: the gaps between a stream's token events (first to last, over the events);
* prefill: time to the first streamed byte over the request's prompt tokens;
* embedding: a call's time over its inputs (a merged batch counts as one call), i.e. the
  rate at the batch sizes and concurrency the engine actually gets.

A non-streamed completion adds a decode sample when the prefill rate is known: its
time minus the modelled prefill, over the ``completion_tokens`` its usage reports.

Cheap by design (a few float operations per reply, no parsing but a byte search). A
learned figure is written to the engine state only when it moved by more than
``publish_change`` from the one written before: every write re-keys the pool's speed
profiles and makes ``slo_aware`` re-estimate its queue, which a figure jittering on
every reply would do thousands of times a second. Speeds declared at registration
(``add_engine(decode_tokens_per_s=...)``) are never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sage.llm.control_plane.types import EngineState
from sage.llm.control_plane.usage import usage_number

__all__ = ["Ewma", "SpeedEstimator", "completion_tokens", "token_events"]

FIELDS = ("decode_tokens_per_s", "prefill_tokens_per_s", "embed_items_per_s")
_USAGE_KEY = b'"completion_tokens"'


@dataclass
class Ewma:
    """EWMA of a per-unit time in seconds; ``rate`` is its inverse (0.0 until learned)."""

    alpha: float = 0.2
    value: float = 0.0
    samples: int = 0

    def add(self, seconds_per_unit: float) -> None:
        if seconds_per_unit <= 0.0 or seconds_per_unit != seconds_per_unit:  # <= 0 or NaN
            return
        if self.samples == 0:
            self.value = seconds_per_unit
        else:
            self.value += self.alpha * (seconds_per_unit - self.value)
        self.samples += 1

    @property
    def rate(self) -> float:
        return 1.0 / self.value if self.value > 0.0 else 0.0


@dataclass
class _Engine:
    """One engine's estimates, and which of its fields are declared (left alone)."""

    declared: frozenset[str]
    ewma: dict[str, Ewma] = field(default_factory=dict)


class SpeedEstimator:
    """Learns speeds per engine and publishes them to its :class:`EngineState`.

    ``min_samples``: samples before a figure is first written; ``publish_change``:
    relative change that makes a written figure be written again; ``min_prompt_tokens``:
    prompts shorter than this say more about fixed overhead than about prefill.
    """

    def __init__(
        self,
        alpha: float = 0.2,
        min_samples: int = 3,
        publish_change: float = 0.1,
        min_prompt_tokens: int = 8,
    ) -> None:
        self.alpha = alpha
        self.min_samples = min_samples
        self.publish_change = publish_change
        self.min_prompt_tokens = min_prompt_tokens
        self._engines: dict[str, _Engine] = {}

    # -- registry ----------------------------------------------------------------------
    def register(self, state: EngineState) -> None:
        """Start learning ``state`` (again); its non-zero speeds count as declared."""
        declared = frozenset(name for name in FIELDS if getattr(state, name))
        self._engines[state.id] = _Engine(declared)

    def forget(self, engine_id: str) -> None:
        self._engines.pop(engine_id, None)

    def estimates(self, engine_id: str) -> dict[str, float]:
        """The current learned figures (unpublished ones too), for listings."""
        engine = self._engines.get(engine_id)
        if engine is None:
            return {}
        return {name: round(e.rate, 3) for name, e in engine.ewma.items() if e.samples}

    # -- samples -------------------------------------------------------------------------
    def embedded(self, state: EngineState, items: int, seconds: float) -> None:
        """An embedding call of ``items`` inputs answered in ``seconds``."""
        if items > 0:
            self._add(state, "embed_items_per_s", seconds / items)

    def first_token(self, state: EngineState, prompt_tokens: int, seconds: float) -> None:
        """A stream's first byte came ``seconds`` after the call went out."""
        if prompt_tokens >= self.min_prompt_tokens:
            self._add(state, "prefill_tokens_per_s", seconds / prompt_tokens)

    def decoded(self, state: EngineState, tokens: int, seconds: float) -> None:
        """``tokens`` token events arrived over ``seconds`` after the first one."""
        if tokens > 0:
            self._add(state, "decode_tokens_per_s", seconds / tokens)

    def completed(
        self, state: EngineState, prompt_tokens: int, body: bytes, seconds: float
    ) -> None:
        """A non-streamed completion answered in ``seconds`` with ``body``."""
        prefill = state.prefill_tokens_per_s
        if not prefill:
            return
        tokens = completion_tokens(body)
        decode_s = seconds - prompt_tokens / prefill
        if tokens > 1 and decode_s > 0.0:
            self._add(state, "decode_tokens_per_s", decode_s / tokens)

    def _add(self, state: EngineState, name: str, seconds_per_unit: float) -> None:
        engine = self._engines.get(state.id)
        if engine is None or name in engine.declared:
            return
        ewma = engine.ewma.get(name)
        if ewma is None:
            ewma = engine.ewma[name] = Ewma(self.alpha)
        ewma.add(seconds_per_unit)
        if ewma.samples < self.min_samples:
            return
        rate = ewma.rate
        published = getattr(state, name)
        if not published or abs(rate - published) > self.publish_change * published:
            setattr(state, name, round(rate, 3))


def token_events(chunk: bytes) -> int:
    """Server-sent events in ``chunk`` that may carry a token (``data:`` lines, not the
    final ``[DONE]``)."""
    return chunk.count(b"data:") - chunk.count(b"data: [DONE]")


def completion_tokens(body: bytes) -> int:
    """``usage.completion_tokens`` of an OpenAI reply (0 when absent)."""
    return usage_number(body, _USAGE_KEY) or 0
