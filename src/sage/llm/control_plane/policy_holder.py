"""The running policy, swappable at run time without losing a queued request."""

from __future__ import annotations

from typing import Any

from sage.common.errors import ConfigError
from sage.common.logging import get_logger
from sage.llm.control_plane.policies import RequestPolicy, get_policy

log = get_logger("sage.llm.control_plane")


class PolicyHolder:
    """Holds the current policy and the options each policy name was last given, so
    changing one option (or switching away and back) keeps the others."""

    def __init__(
        self,
        policy: str | RequestPolicy,
        *,
        max_queue: int,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.max_queue = max_queue
        self._options: dict[str, dict[str, Any]] = {}
        self.policy = self.build(policy, options or {}, reset=True)

    def build(
        self, policy: str | RequestPolicy, options: dict[str, Any], *, reset: bool = False
    ) -> RequestPolicy:
        """A new policy instance; a bad name or option is a ConfigError and changes nothing."""
        if isinstance(policy, RequestPolicy):
            return policy
        if "max_queue" in options:
            raise ConfigError("max_queue is the control plane's setting, not a policy option")
        merged = {} if reset else dict(self._options.get(policy, {}))
        merged.update(options)
        new = get_policy(policy, max_queue=self.max_queue, **merged)
        self._options[policy] = merged
        return new

    def swap(
        self, policy: str | RequestPolicy, now: float, *, reset: bool = False, **options: Any
    ) -> RequestPolicy:
        """Make ``policy`` current; pending requests move to it in arrival order."""
        new = self.build(policy, options, reset=reset)
        old = self.policy
        moved = sorted(old.pending(), key=lambda r: r.arrival)
        for request in moved:
            old.remove(request.id)
            new.enqueue(request, now)
        self.policy = new
        log.info("policy %s -> %s (%d pending moved)", old.name, new.name, len(moved))
        return new
