"""The systems compared, as registered :class:`Baseline` objects: ``siloed`` (engines
called directly, no control plane) and ``unified/<policy>`` (one gateway in front of
both engines, under that policy), one for every registered request policy.

Unified baselines share one gateway; its policy is switched through the admin API
(``POST /admin/policy``) between runs, so every baseline sees the same engines.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from sage.common.admin_token import admin_headers
from sage.common.errors import ConfigError
from sage.common.registry import Registry
from sage.llm.control_plane.policies import available_policies


@dataclass(frozen=True)
class Baseline:
    """One system compared: its name in results, and the policy the gateway runs for it
    (``None``: no gateway, the engines are called directly)."""

    name: str
    policy: str | None = None
    options: tuple[tuple[str, Any], ...] = ()  # policy options this baseline sets


SILOED = "siloed"
# The control plane's policies compared by default (``fair`` is available by name).
DEFAULT_POLICIES = ("fifo", "round_robin", "least_loaded", "priority", "slo_aware", "hybrid")

_BASELINES: Registry[Baseline] = Registry("baseline")
_BASELINES.register(SILOED, Baseline(SILOED))
# prefix_aware fed by the engines' own cache reports instead of its routing history
PRECISE = "unified/prefix_aware_precise"
_BASELINES.register(PRECISE, Baseline(PRECISE, "prefix_aware", (("source", "precise"),)))


def unified_name(policy: str) -> str:
    return f"unified/{policy}"


def baselines() -> Registry[Baseline]:
    """Every baseline: ``siloed`` plus one ``unified/<policy>`` per registered policy
    (a policy a plug-in registered later gets its baseline here)."""
    for policy in available_policies():
        name = unified_name(policy)
        if name not in _BASELINES:
            _BASELINES.register(name, Baseline(name, policy))
    return _BASELINES


def default_baselines() -> list[str]:
    return [SILOED, *(unified_name(p) for p in DEFAULT_POLICIES)]


def parse_baselines(text: str | None) -> list[str]:
    """``"siloed,hybrid,unified/fifo"`` -> canonical names; a bare policy name means its
    unified baseline; ``policy+key=value+...`` that policy with those options (say
    ``prefix_aware+hold_s=5``); ``all`` means every registered one. ConfigError for
    unknown names."""
    if not text:
        return default_baselines()
    registry = baselines()
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "all":
            out += [SILOED, *(unified_name(p) for p in available_policies())]
            continue
        if "+" in part:  # policy+option=value+...: that policy with those options
            part = _with_options(part)
        if part in available_policies() or unified_name(part) in registry:
            part = unified_name(part)
        out.append(registry.get(part).name)
    return list(dict.fromkeys(out))


def _with_options(text: str) -> str:
    """Register ``unified/policy+key=value+...`` (values JSON, else strings); its name."""
    policy, *pairs = text.removeprefix("unified/").split("+")
    options: list[tuple[str, Any]] = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"baseline option {pair!r}: expected key=value")
        try:
            options.append((key, json.loads(raw)))
        except ValueError:
            options.append((key, raw))
    name = unified_name(text.removeprefix("unified/"))
    registry = baselines()
    if policy not in available_policies():
        raise ConfigError(f"unknown policy {policy!r} in baseline {text!r}")
    if name not in registry:
        registry.register(name, Baseline(name, policy, tuple(options)))
    return name


def _lookup(baseline: str) -> Baseline | None:
    """The registered baseline of that name (a result file's ``policy+options`` one is
    registered on the way), or ``None``."""
    registry = baselines()
    if baseline not in registry and "+" in baseline:
        baseline = _with_options(baseline)
    return registry.get(baseline) if baseline in registry else None


def policy_of(baseline: str) -> str | None:
    """The policy a baseline's gateway runs; ``None`` for siloed (or a name from a
    result file that no registered baseline has)."""
    found = _lookup(baseline)
    return found.policy if found else None


def options_of(baseline: str) -> dict[str, Any]:
    """The policy options a baseline runs with (``{}``: the policy's defaults)."""
    found = _lookup(baseline)
    return dict(found.options) if found else {}


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


def clear_prefix_caches(gateway_url: str | None) -> list[int]:
    """Empty the prefix caches of a gateway's LLM engines (``DELETE /v1/cache``), so a run
    starts cold whatever ran before; returns the cache budgets (bytes) of the engines that
    did (others cannot)."""
    if gateway_url is None:
        return []
    try:
        health = httpx.get(gateway_url.rstrip("/") + "/health", headers=admin_headers(), timeout=5.0)
        engines = health.json()["engines"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []
    budgets: list[int] = []
    for engine in engines:
        if "llm" not in engine.get("kinds", ()) or not engine.get("url"):
            continue
        try:
            reply = httpx.delete(engine["url"] + "/v1/cache", timeout=60.0)
            if reply.status_code == 200:
                budgets.append(int(reply.json().get("budget_bytes", 0)))
        except (httpx.HTTPError, ValueError, AttributeError):
            pass  # an engine without a prefix cache (an external server)
    return budgets


def set_gateway_policy(
    gateway_url: str,
    policy: str,
    api_key: str | None = None,
    options: dict[str, Any] | None = None,
    reset: bool = False,
) -> None:
    """Switch the gateway's policy and check it took. ``reset`` starts from the policy's
    defaults plus ``options`` (a benchmark run must not inherit an earlier run's options)."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else admin_headers()
    response = httpx.post(
        gateway_url.rstrip("/") + "/admin/policy",
        json={"name": policy, "options": options or {}, "reset": reset},
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
