"""L2 - runtime plumbing with no knowledge of dataflow or models.

Bounded queues and channels that carry records between tasks, and storage
back-ends (key-value, vector index) that services build on. Depends only on
``sage.common``.
"""
