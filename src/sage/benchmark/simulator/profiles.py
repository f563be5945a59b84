"""Engine performance models (what a calibration file holds) and how to scale them.

LLM: ``ttft = ttft_overhead_s + engine_prompt_tokens / prefill_tokens_per_s`` (the
intercept absorbs the chat template's cached prefix), then one token every
``1 / decode_tokens_per_s``; with ``capacity > 1`` sequences decode together and each
is ``batch_slowdown`` slower per extra running sequence (continuous batching).
Embedding: one batch at a time, ``fixed_s + per_item_s * items + per_token_s * items *
width``, where ``width`` is the longest input of the batch in tokens: the model pads
every input of a batch to the longest one. The ``per_item_s`` part is writing each
vector out (JSON): the engine answers a merged batch's calls one after another, so the
first caller has its answer before the last (and a gateway slot back sooner).
Contention: engines on one host (here: two engines on 2 shared cores) run slower while
another engine of that host is busy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sage.common.errors import ConfigError

DEFAULT_CALIBRATION = "data/calibration_default.json"


class LLMProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefill_tokens_per_s: float = Field(gt=0)
    decode_tokens_per_s: float = Field(gt=0)
    ttft_overhead_s: float = 0.0
    template_tokens: float = Field(
        0.0, description="tokens the chat template adds to a user message"
    )
    prefix_load_s: float = Field(
        0.0, ge=0, description="restoring a cached prefix's state before the rest's prefill"
    )
    capacity: int = Field(1, ge=1, description="sequences decoded concurrently")
    batch_slowdown: float = Field(0.0, ge=0, description="per extra concurrent sequence")

    def ttft_s(self, engine_prompt_tokens: float) -> float:
        return max(1e-4, self.ttft_overhead_s + engine_prompt_tokens / self.prefill_tokens_per_s)

    def itl_s(self, running: int = 1) -> float:
        return (1.0 + self.batch_slowdown * max(0, running - 1)) / self.decode_tokens_per_s

    def faster(self, factor: float, prefill_factor: float | None = None) -> LLMProfile:
        """The same engine ``factor`` x faster (its prefill ``prefill_factor`` x, if
        given): rates multiplied, the TTFT intercept divided."""
        prefill = factor if prefill_factor is None else prefill_factor
        return self.model_copy(
            update={
                "prefill_tokens_per_s": self.prefill_tokens_per_s * prefill,
                "decode_tokens_per_s": self.decode_tokens_per_s * factor,
                "ttft_overhead_s": self.ttft_overhead_s / prefill,
                "prefix_load_s": self.prefix_load_s / prefill,
            }
        )


class EmbeddingProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fixed_s: float = Field(ge=0)
    per_item_s: float = Field(0.0, ge=0)
    per_token_s: float = Field(0.0, ge=0, description="per padded token")
    extra_tokens_per_input: float = Field(2.0, description="special tokens per text")
    max_batch: int = Field(64, ge=1)
    batch_wait_s: float = Field(0.003, ge=0, description="engine-side micro-batch window")

    def batch_s(self, items: int, width: float) -> float:
        """Seconds for one batch of ``items`` inputs padded to ``width`` tokens, answers
        written."""
        return self.fixed_s + items * (self.per_item_s + self.per_token_s * width)

    def slower(self, factor: float) -> EmbeddingProfile:
        """The same engine with every cost ``factor`` x longer."""
        return self.model_copy(
            update={k: getattr(self, k) * factor for k in ("fixed_s", "per_item_s", "per_token_s")}
        )

    def compute_s(self, items: int, width: float) -> float:
        """The model's part of :meth:`batch_s`; the rest is answering, call by call."""
        return self.fixed_s + items * self.per_token_s * width


class Contention(BaseModel):
    """Speed factors (1.0 = unaffected) while another engine of the same host is busy.

    Usually below 1 (shared cores), but measured above 1 for llama.cpp on this VM: with
    the neighbour idle the vCPUs halt between tokens and waking them costs each token's
    thread sync several ms; a busy neighbour keeps them awake.
    """

    model_config = ConfigDict(extra="forbid")

    llm_speed: float = Field(1.0, gt=0, le=4, description="decode (and prefill if unset)")
    llm_prefill_speed: float | None = Field(
        None, gt=0, le=4, description="prefill, when it differs: it needs every core"
    )
    embedding_speed: float = Field(1.0, gt=0, le=4)


# Engines sharing one GPU (no MPS: the two processes' kernels time-slice). An assumption,
# not a measurement (this project has no GPU): prefill is compute-bound and loses most,
# memory-bound decode less, the embedding model's batches about as much as prefill.
GPU_SHARED_CONTENTION = Contention(llm_speed=0.8, llm_prefill_speed=0.6, embedding_speed=0.6)


class Calibration(BaseModel):
    """Everything the simulator needs to stand in for the real engines."""

    model_config = ConfigDict(extra="forbid")

    llm: LLMProfile
    embedding: EmbeddingProfile
    contention: Contention = Field(default_factory=Contention)
    gateway_overhead_s: float = Field(0.002, ge=0, description="added by the gateway hop")
    source: dict[str, Any] = Field(default_factory=dict, description="where/when measured")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibration:
        """``path``, or the default calibration measured on this project's CI machine."""
        if path is None:
            text = resources.files("sage.benchmark.simulator").joinpath(DEFAULT_CALIBRATION)
            return cls.model_validate_json(text.read_text())
        return cls.model_validate_json(Path(path).read_text())

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    def scaled(
        self,
        speedup: float = 1.0,
        *,
        llm_capacity: int | None = None,
        batch_slowdown: float | None = None,
        contention: bool = True,
    ) -> Calibration:
        """A faster engine class: rates times ``speedup``, fixed costs divided by it."""
        if speedup <= 0:
            raise ConfigError("speedup must be positive")
        llm = self.llm.faster(speedup).model_copy(
            update={
                "capacity": llm_capacity or self.llm.capacity,
                "batch_slowdown": (
                    self.llm.batch_slowdown if batch_slowdown is None else batch_slowdown
                ),
            }
        )
        emb = self.embedding.slower(1.0 / speedup)
        return self.model_copy(
            update={
                "llm": llm,
                "embedding": emb,
                "contention": self.contention if contention else Contention(),
                "source": {**self.source, "speedup": speedup},
            }
        )

    def gpu_class(
        self,
        speedup: float = 20.0,
        llm_capacity: int = 8,
        batch_slowdown: float = 0.1,
        shared_gpu: bool = False,
    ) -> Calibration:
        """GPU-class engines (as ``sage bench simulate --speedup 20 --llm-capacity 8
        --batch-slowdown 0.1``); ``shared_gpu``: an LLM and an embedding engine paired on
        one GPU slow each other by :data:`GPU_SHARED_CONTENTION` (simulate with
        ``--colocate``); otherwise each has its own device."""
        gpu = self.scaled(
            speedup, llm_capacity=llm_capacity, batch_slowdown=batch_slowdown, contention=False
        )
        if shared_gpu:
            gpu = gpu.model_copy(update={"contention": GPU_SHARED_CONTENTION})
        return gpu.model_copy(update={"source": {**gpu.source, "shared_gpu": shared_gpu}})
