"""Services for ``env.register_service``: the vector store and agent memory.

Both are plain classes (constructed from picklable arguments), so the same
registration works in the local runtime (a worker thread) and on Ray (an actor).
"""

from sage.middleware.services.memory import MemoryService
from sage.middleware.services.vector_store import VectorStoreService

__all__ = ["MemoryService", "VectorStoreService"]
