"""Prefix cache: the real engine reports cached tokens and what it holds; LRU by bytes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from sage.llm.engines import prefix_cache
from sage.llm.engines.prefix_cache import PrefixCache
from sage.llm.prefix_hash import prompt_block_hashes
from tests.fixtures.engines import RealEngines

TENANT_A = "You are the help desk of Acme. " + "Acme sells anvils, rockets and magnets. " * 12
TENANT_B = "You are a travel agent for Globex. " + "Globex flies to Paris, Rome and Oslo. " * 12


def ask(system: str, question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def chat(url: str, messages: list[dict[str, str]], stream: bool = False) -> dict[str, Any]:
    body = {"messages": messages, "max_tokens": 2, "temperature": 0, "stream": stream}
    if not stream:
        response = httpx.post(url + "/v1/chat/completions", json=body, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()["usage"]
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=120) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines()
                  if line.startswith("data: {")]  # fmt: skip
    return events[-1]["usage"]


def test_engine_reuses_an_earlier_prefix_and_says_so(real_engines: RealEngines) -> None:
    url = real_engines.llm.url
    chat(url, ask(TENANT_A, "Do you sell anvils?"))
    other = chat(url, ask(TENANT_B, "Do you fly to Rome?"))  # the context now holds B
    assert other["prompt_tokens_details"]["cached_tokens"] < other["prompt_tokens"] // 2
    again = chat(url, ask(TENANT_A, "Do you sell magnets?"), stream=True)  # A from the cache
    cached = again["prompt_tokens_details"]["cached_tokens"]
    assert again["prompt_tokens"] // 2 < cached < again["prompt_tokens"]

    held = httpx.get(url + "/v1/cache", timeout=10).json()
    assert held["object"] == "prefix_cache" and held["hits"] >= 1
    assert 0 < held["used_bytes"] <= held["budget_bytes"]
    tenant_a_head = f"{prompt_block_hashes(ask(TENANT_A, 'x'))[0]:016x}"
    assert any(e["block_hashes"][:1] == [tenant_a_head] for e in held["entries"])


class FakeLlama:
    """What the cache reads of a ``Llama``: the tokens its context holds."""

    def __init__(self, tokens: list[int]) -> None:
        self.input_ids = np.zeros(4096, dtype=np.intc)
        self.input_ids[: len(tokens)] = tokens
        self.n_tokens = len(tokens)
        self._requires_eval = False


@pytest.fixture
def fake_states(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """States of 1 KiB per token; ``_load`` puts the entry's tokens into the context."""
    loads: list[int] = []
    monkeypatch.setattr(prefix_cache, "_dump", lambda llm: bytes(1024 * int(llm.n_tokens)))

    def load(llm: FakeLlama, entry: prefix_cache.CachedPrefix) -> bool:
        loads.append(len(entry.tokens))
        llm.input_ids[: len(entry.tokens)] = entry.tokens
        llm.n_tokens = len(entry.tokens)
        return True

    monkeypatch.setattr(prefix_cache, "_load", load)
    return loads


def test_longest_prefix_wins_and_lru_evicts(fake_states: list[int]) -> None:
    cache = PrefixCache(budget_mb=0.25, min_tokens=8, min_uses=0)  # 256 KiB: two 100-token states
    a, b, c = ([k] * 100 for k in (1, 2, 3))
    for tokens in (a, b):
        cache.save(FakeLlama(tokens))
    llm = FakeLlama(c)
    assert cache.restore(llm, a[:60] + [9] * 5) == 60 and fake_states == [100]
    cache.save(FakeLlama(c))  # evicts b, the least recently used
    assert cache.stats.evicted == 1 and cache.used <= cache.budget
    assert cache.restore(FakeLlama([]), b + [9]) == 0  # evicted: a miss, not an error
    assert cache.restore(FakeLlama([]), c + [9]) == 100


def test_a_state_that_extends_another_replaces_it(fake_states: list[int]) -> None:
    cache = PrefixCache(budget_mb=1, min_tokens=8, min_uses=0)
    cache.save(FakeLlama([1] * 50))
    cache.save(FakeLlama([1] * 50 + [2] * 20))  # the next turn of the same session
    assert [len(e.tokens) for e in cache.entries.values()] == [70]
    cache.save(FakeLlama([1] * 40))  # already held inside the longer state
    assert len(cache.entries) == 1
    cache.save(FakeLlama([1] * 4))  # too short to keep
    assert len(cache.entries) == 1


def test_context_already_holding_the_prefix_loads_nothing(fake_states: list[int]) -> None:
    cache = PrefixCache(budget_mb=1, min_tokens=8, min_uses=0)
    cache.save(FakeLlama([1] * 50))
    assert cache.restore(FakeLlama([1] * 50), [1] * 50 + [3]) == 50
    assert fake_states == []  # what the context holds is as good


def test_one_off_prompts_are_not_stored(fake_states: list[int]) -> None:
    cache = PrefixCache(budget_mb=1, min_tokens=8, min_uses=2)
    once = [5] * 70
    cache.restore(FakeLlama([]), once)
    cache.save(FakeLlama(once))
    assert not cache.entries  # seen once: no copy
    cache.restore(FakeLlama([]), once[:66] + [6])  # the same head again
    cache.save(FakeLlama(once[:66] + [6, 7]))
    assert len(cache.entries) == 1


def test_one_copy_per_shared_prefix(fake_states: list[int]) -> None:
    """The same system prompt with another question replaces the older state (no copies
    crowding out other tenants' prefixes); a sibling with a long history of its own stays."""
    cache = PrefixCache(budget_mb=1, min_tokens=8, min_uses=0)
    system = [1] * 100
    cache.save(FakeLlama(system + [2] * 10))
    cache.save(FakeLlama(system + [3] * 12))  # same tenant, another question
    assert [e.tokens[-1] for e in cache.entries.values()] == [3]
    cache.save(FakeLlama(system + [4] * 60))  # a session with a long history of its own
    cache.save(FakeLlama(system + [5] * 10))  # another question: the history stays
    assert [e.tokens[-1] for e in cache.entries.values()] == [4, 5]
    assert cache.restore(FakeLlama([]), system + [5]) == 100  # the prefix is still held


def test_clearing_the_cache_makes_the_next_request_cold(real_engines: RealEngines) -> None:
    url = real_engines.llm.url
    chat(url, ask(TENANT_A, "Do you sell anvils?"))
    cleared = httpx.delete(url + "/v1/cache", timeout=30).json()
    assert cleared["entries"] == [] and cleared["used_bytes"] == 0
    again = chat(url, ask(TENANT_A, "Do you sell rockets?"))  # neither stored nor live
    assert again["prompt_tokens_details"]["cached_tokens"] < again["prompt_tokens"] // 2


def test_a_state_that_fails_to_load_is_a_miss(
    fake_states: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = PrefixCache(budget_mb=1, min_tokens=8, min_uses=0)
    cache.save(FakeLlama([1] * 50))

    def broken(llm: FakeLlama, entry: prefix_cache.CachedPrefix) -> bool:
        llm.n_tokens = 0  # what _load does when llama.cpp refuses the state
        return False

    monkeypatch.setattr(prefix_cache, "_load", broken)
    assert cache.restore(FakeLlama([7] * 10), [1] * 50 + [3]) == 0  # nothing claimed cached
