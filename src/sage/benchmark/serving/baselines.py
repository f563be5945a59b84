"""The systems compared: ``siloed`` (engines called directly, no control plane) and
``unified/<policy>`` (one gateway in front of both engines, under that policy).

Unified baselines share one gateway; its policy is switched through the admin API
(``POST /admin/policy``) between runs, so every baseline sees the same engines.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from sage.common.admin_token import admin_headers
from sage.llm.control_plane.policies import available_policies

SILOED = "siloed"
# The control plane's policies compared by default (``fair`` is available by name).
DEFAULT_POLICIES = ("fifo", "round_robin", "least_loaded", "priority", "slo_aware", "hybrid")


def default_baselines() -> list[str]:
    return [SILOED, *(f"unified/{p}" for p in DEFAULT_POLICIES)]


def parse_baselines(text: str | None) -> list[str]:
    """``"siloed,hybrid,unified/fifo"`` -> canonical names; bare policy names get the
    ``unified/`` prefix; ``all`` means every registered policy."""
    if not text:
        return default_baselines()
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "all":
            out += [SILOED, *(f"unified/{p}" for p in available_policies())]
            continue
        if part == SILOED:
            out.append(SILOED)
            continue
        policy = part.split("/", 1)[1] if part.startswith("unified/") else part
        if policy not in available_policies():
            raise ValueError(
                f"unknown baseline {part!r}: use siloed or unified/<policy> with a policy "
                f"from {', '.join(available_policies())}"
            )
        out.append(f"unified/{policy}")
    return list(dict.fromkeys(out))


def policy_of(baseline: str) -> str | None:
    """The policy a ``unified/<policy>`` baseline runs; ``None`` for anything else."""
    return baseline.split("/", 1)[1] if baseline.startswith("unified/") else None


def gateway_policy(gateway_url: str, api_key: str | None = None) -> str | None:
    """The gateway's current policy, or ``None`` when it has no SAGE admin API."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else admin_headers()
    try:
        response = httpx.get(gateway_url.rstrip("/") + "/admin/policy", headers=headers)
        return str(response.json()["name"]) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def gateway_engines(gateway_url: str | None) -> list[dict[str, Any]]:
    """The engines a SAGE gateway dispatches to (kinds, capacity, max_batch), from its
    ``/health``; empty for anything else. Recorded with each run, so a replay in the
    simulator gives the engines the capacities they had."""
    if gateway_url is None:
        return []
    try:
        engines = httpx.get(gateway_url.rstrip("/") + "/health", headers=admin_headers(), timeout=5.0).json()["engines"]
        return [
            {key: e[key] for key in ("id", "kinds", "capacity", "max_batch")} for e in engines
        ]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []


def set_gateway_policy(gateway_url: str, policy: str, api_key: str | None = None) -> None:
    """Switch the gateway's policy and check it took."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else admin_headers()
    response = httpx.post(
        gateway_url.rstrip("/") + "/admin/policy",
        json={"name": policy},
        headers=headers,
        timeout=10.0,
    )
    if response.status_code != 200 or response.json().get("name") != policy:
        raise RuntimeError(f"could not set the gateway policy to {policy}: {response.text}")


def wait_idle(gateway_url: str | None, timeout_s: float = 60.0) -> None:
    """Wait until a SAGE gateway has nothing queued or in flight (between runs); returns
    at once for servers without SAGE's ``/health`` view."""
    if gateway_url is None:
        return
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            health = httpx.get(gateway_url.rstrip("/") + "/health", headers=admin_headers(), timeout=5.0).json()
        except (httpx.HTTPError, ValueError):
            return
        if not isinstance(health, dict) or "queue_depth" not in health:
            return
        busy = health["queue_depth"] or sum(
            e.get("in_flight", 0) for e in health.get("engines", [])
        )
        if not busy:
            return
        time.sleep(0.2)
