"""L4 - the unified control plane for LLM and embedding workloads.

Engines (processes that speak OpenAI HTTP), the engine manager, request
classification, queues and the pluggable scheduling policies that dispatch over
one shared engine pool.
"""
