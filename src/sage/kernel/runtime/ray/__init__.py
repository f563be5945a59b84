"""The Ray runtime: the same physical plan and task core as the local runtime, with one
Ray actor per parallel task, direct actor-to-actor micro-batches and bounded in-flight
batches per edge for backpressure. ``RemoteEnvironment`` (the API side) lives in
:mod:`sage.kernel.api.remote` (import it from ``sage.kernel``, which loads ray lazily)."""
