"""L3 - the declarative dataflow kernel.

The user-facing API (environments, ``DataStream``, function base classes), the
logical-to-physical plan compiler, the local and Ray runtimes, resource-aware
scheduling and the job manager. Knows nothing about LLMs.
"""
