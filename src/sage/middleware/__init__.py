"""L4 - dataflow operators and services that call models and stores.

``Embed``, ``Generate``, ``Rerank``, ``Retrieve``, the vector store and memory
services and the agent operator: the bridge between kernel pipelines and the
control plane.
"""
