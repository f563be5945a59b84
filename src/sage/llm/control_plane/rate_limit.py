"""Per-tenant token buckets, checked at admission (HTTP 429 when empty).

Pure like the policies: the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; starts full."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float | None = None

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def try_take(self, now: float, cost: float = 1.0) -> bool:
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available again."""
        missing = max(0.0, cost - self.tokens)
        return missing / self.rate if self.rate > 0 else 60.0


class TenantRateLimiter:
    """One :class:`TokenBucket` per tenant that has a limit; others pass freely."""

    def __init__(self, limits: dict[str, float] | None = None, burst_s: float = 1.0) -> None:
        self.burst_s = burst_s
        self._limits: dict[str, float] = {}
        self._buckets: dict[str, TokenBucket] = {}
        for tenant, rps in (limits or {}).items():
            self.set_limit(tenant, rps)

    def set_limit(self, tenant: str, rps: float | None) -> None:
        if rps is None or rps <= 0:
            self._limits.pop(tenant, None)
            self._buckets.pop(tenant, None)
            return
        self._limits[tenant] = rps
        self._buckets[tenant] = TokenBucket(rps, max(1.0, rps * self.burst_s))

    def check(self, tenant: str, now: float) -> float | None:
        """``None`` when allowed (a token is taken), else seconds to wait."""
        bucket = self._buckets.get(tenant)
        if bucket is None or bucket.try_take(now):
            return None
        return bucket.retry_after()
