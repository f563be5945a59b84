"""Deterministic generator of the shipped synthetic agent benchmark.

Same seed, same bytes: the catalog (26 categories x 4 entities x 5 operations = 520
tools) and 1,020 labelled instructions, every text unique: 300 for selection (each
asked at pool sizes 10/100/500 with same-category distractors first, so 900 rows), 320
for planning (1-8 steps, 40 of each length) and 400 for timing (half need a tool; the
negatives often use the domain's own words). Splits are stratified 60/20/20 by index
(every plan length and timing label in every split), and no text appears in two
splits. Regenerate with ``sage bench agent-data``; a test checks the shipped files match.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sage.benchmark.agent.schema import AgentItem
from sage.benchmark.agent.vocabulary import (
    CATEGORIES,
    CHITCHAT,
    CONNECTORS,
    FINAL_CONNECTORS,
    OPERATIONS,
    PREFIXES,
    SUFFIXES,
    VALUES,
)
from sage.libs.agents.tools import Tool

DEFAULT_SEED = 20240601
DATA_DIR = Path(__file__).parent / "data"
CATALOG_FILE = "catalog.jsonl"
ITEMS_FILE = "items.jsonl"
POOL_SIZES = (10, 100, 500)
# Every run of five consecutive items (per stratum) gives 3 train, 1 dev, 1 test.
SPLIT_CYCLE = ("train", "dev", "train", "test", "train")
MAX_TRIES = 100
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Spec:
    tool: Tool
    category: str
    entity: str
    plural: str
    synonyms: tuple[str, ...]
    op: str
    fields: tuple[str, ...]


def _schema(fields: tuple[str, ...], op: str) -> dict[str, object]:
    props: dict[str, object] = {}
    if op in ("get", "update", "delete"):
        props["id"] = {"type": "string", "description": "identifier of the record"}
    if op in ("create", "update"):
        for f in fields:
            numeric = f in (
                "amount",
                "quantity",
                "capacity",
                "stars",
                "nights",
                "days",
                "minutes",
                "hours",
                "years",
                "price",
                "party_size",
                "brightness",
                "temperature",
                "seconds",
                "threshold",
            )
            props[f] = {
                "type": "number" if numeric else "string",
                "description": f.replace("_", " "),
            }
    if op == "list":
        props["limit"] = {"type": "integer", "description": "maximum number of results"}
        props["query"] = {"type": "string", "description": "optional filter text"}
    required = ["id"] if "id" in props else [f for f in fields[:1] if op == "create"]
    return {"type": "object", "properties": props, "required": required}


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def build_catalog() -> list[_Spec]:
    specs: list[_Spec] = []
    n = 0
    for category, (title, entities) in CATEGORIES.items():
        for entity, plural, synonyms, fields in entities:
            noun = entity.replace("_", " ")
            for op, (verb, _) in OPERATIONS.items():
                n += 1
                thing = plural if op == "list" else noun
                desc = (
                    f"{verb} {thing} in the {title} service. "
                    f"{_article(noun).capitalize()} {noun} is also called "
                    f"{_article(synonyms[0])} {synonyms[0]}."
                )
                tool = Tool(
                    id=f"t{n:04d}",
                    name=f"{category}_{op}_{entity}",
                    description=desc,
                    parameters=_schema(tuple(fields), op),
                    category=category,
                )
                specs.append(
                    _Spec(tool, category, noun, plural, tuple(synonyms), op, tuple(fields))
                )
    return specs


def _detail(rng: random.Random, spec: _Spec) -> str:
    if spec.op in ("list", "delete", "get"):
        options = [f for f in spec.fields if f in VALUES]
        if not options or rng.random() < 0.5:
            return ""
        f = rng.choice(options)
        return f" for {rng.choice(VALUES[f])}"
    parts = []
    for f in spec.fields:
        if f in VALUES and rng.random() < 0.6:
            parts.append(f"{f.replace('_', ' ')} {rng.choice(VALUES[f])}")
    return (" with " + " and ".join(parts)) if parts else ""


def _clause(rng: random.Random, spec: _Spec) -> str:
    phrase = rng.choice(OPERATIONS[spec.op][1])
    # Mostly a synonym (paraphrase), sometimes the catalog's own word.
    noun = rng.choice(spec.synonyms) if rng.random() < 0.75 else spec.entity
    if spec.op == "list":
        noun = noun + "s" if not noun.endswith("s") else noun
        phrase = phrase.replace(" a ", " ")
    return f"{phrase} {noun}{_detail(rng, spec)}"


def _instruction(rng: random.Random, spec: _Spec) -> str:
    clause = _clause(rng, spec)
    prefix = "" if clause.startswith("what") else rng.choice(PREFIXES)
    text = prefix + clause + rng.choice(SUFFIXES)
    text = text[0].upper() + text[1:]
    return text + ("?" if text.startswith(("Can", "Hey")) else ".")


def _pool(rng: random.Random, gold: list[_Spec], specs: list[_Spec], size: int) -> list[str]:
    """Gold tools, then hard distractors from the gold tools' own categories, then
    random tools from other categories to fill ``size``; shuffled."""
    gold_ids = [g.tool.id for g in gold]
    cats = list(dict.fromkeys(g.category for g in gold))
    same = [s.tool.id for s in specs if s.category in cats and s.tool.id not in gold_ids]
    rng.shuffle(same)
    rest = [s.tool.id for s in specs if s.category not in cats]
    rng.shuffle(rest)
    pool = gold_ids + (same + rest)[: max(0, size - len(gold_ids))]
    rng.shuffle(pool)
    return pool


def _split(n: int) -> str:
    return SPLIT_CYCLE[n % len(SPLIT_CYCLE)]


def _unique(seen: set[str], make: Callable[[], tuple[str, _T]]) -> tuple[str, _T]:
    """``make()`` until its text is new. A labelled item is only worth counting once, and
    a text in two splits would leak the answer from train into test."""
    for _ in range(MAX_TRIES):
        text, payload = make()
        if text not in seen:
            seen.add(text)
            return text, payload
    raise RuntimeError(f"no new instruction after {MAX_TRIES} tries: vocabulary too small")


def _plan_text(rng: random.Random, specs: list[_Spec], length: int) -> tuple[str, list[_Spec]]:
    """An instruction chaining ``length`` steps over 1-3 categories."""
    n_cats = rng.randint(1, min(3, length))
    cats = rng.sample(sorted(CATEGORIES), n_cats)
    steps = rng.sample([s for s in specs if s.category in cats], length)
    clauses = [_clause(rng, s) for s in steps]
    text = clauses[0]
    for j, c in enumerate(clauses[1:], 1):
        last = j == length - 1 and length > 2
        text += rng.choice(FINAL_CONNECTORS if last else CONNECTORS) + c
    text = ("" if text.startswith("what") else rng.choice(PREFIXES)) + text
    return text[0].upper() + text[1:] + ".", steps


def _no_tool_text(rng: random.Random, specs: list[_Spec]) -> tuple[str, _Spec]:
    """Chit-chat or a knowledge question, often about the domain of a real tool."""
    spec = rng.choice(specs)
    other = rng.choice(
        [s for s in specs if s.category == spec.category and s.entity != spec.entity]
    )
    text = rng.choice(CHITCHAT).format(entity=spec.entity, plural=spec.plural, other=other.entity)
    return text, spec


def generate(
    seed: int = DEFAULT_SEED, n_selection: int = 300, n_planning: int = 320, n_timing: int = 400
) -> tuple[list[Tool], list[AgentItem]]:
    rng = random.Random(seed)
    specs = build_catalog()
    items: list[AgentItem] = []
    seen: set[str] = set()

    def one_tool() -> tuple[str, _Spec]:
        spec = rng.choice(specs)
        return _instruction(rng, spec), spec

    for i in range(n_selection):
        instruction, spec = _unique(seen, one_tool)
        # Nested pools: the 10-pool is inside the 100-pool inside the 500-pool.
        big = _pool(rng, [spec], specs, max(POOL_SIZES))
        same_cat = [
            t for t in big if t != spec.tool.id and specs[int(t[1:]) - 1].category == spec.category
        ]
        others = [t for t in big if t != spec.tool.id and t not in same_cat]
        for size in POOL_SIZES:
            pool = [spec.tool.id] + (same_cat + others)[: size - 1]
            pool = sorted(pool, key=big.index)
            items.append(
                AgentItem(
                    id=f"sel-{i:04d}-p{size}",
                    task="selection",
                    split=_split(i),
                    instruction=instruction,
                    candidates=pool,
                    gold_tools=[spec.tool.id],
                    pool_size=size,
                    meta={"category": spec.category, "op": spec.op},
                )
            )

    for i in range(n_planning):
        length = 1 + i % 8
        text, steps = _unique(seen, lambda length=length: _plan_text(rng, specs, length))
        pool = _pool(rng, steps, specs, max(20, length + 12))
        items.append(
            AgentItem(
                id=f"plan-{i:04d}",
                task="planning",
                split=_split(i // 8),  # stratified by plan length
                instruction=text,
                candidates=pool,
                gold_tools=[s.tool.id for s in steps],
                pool_size=len(pool),
                meta={"length": length, "categories": sorted({s.category for s in steps})},
            )
        )

    for i in range(n_timing):
        positive = i % 2 == 0
        text, spec = _unique(seen, one_tool if positive else lambda: _no_tool_text(rng, specs))
        pool = _pool(rng, [spec], specs, 8)
        items.append(
            AgentItem(
                id=f"time-{i:04d}",
                task="timing",
                split=_split(i // 2),  # stratified by label
                instruction=text,
                candidates=pool,
                gold_tools=[spec.tool.id] if positive else [],
                should_call=positive,
                pool_size=len(pool),
                meta={"category": spec.category},
            )
        )
    return [s.tool for s in specs], items


def write_dataset(out_dir: Path = DATA_DIR, seed: int = DEFAULT_SEED) -> tuple[Path, Path]:
    """Generate and write ``catalog.jsonl`` and ``items.jsonl`` (stable bytes)."""
    tools, items = generate(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog = out_dir / CATALOG_FILE
    catalog.write_text(
        "".join(json.dumps(t.to_dict(), sort_keys=True) + "\n" for t in tools), encoding="utf-8"
    )
    item_path = out_dir / ITEMS_FILE
    item_path.write_text(
        "".join(json.dumps(it.to_dict(), sort_keys=True) + "\n" for it in items),
        encoding="utf-8",
    )
    return catalog, item_path
