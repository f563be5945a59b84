"""Runtimes execute a :class:`~sage.kernel.plan.PhysicalPlan`.

:mod:`.task` is the runtime-agnostic task core; :mod:`.local` runs tasks as threads
with bounded channels; the Ray runtime (``runtime/ray``) runs the same task core in
actors.
"""
