"""L4 - the OpenAI-compatible HTTP gateway (FastAPI) in front of the control plane.

Validation, authentication, tenant mapping, OpenAI-shaped errors, SSE streaming
and Prometheus metrics; scheduling itself lives in ``sage.llm``.
"""
