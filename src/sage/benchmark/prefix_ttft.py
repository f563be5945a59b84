"""Cold vs warm time to first token for a long shared system prompt on the llama engine.

Three cases per repeat, on one ``Llama`` context with the engine's prefix cache:
``cold`` (nothing cached), ``live`` (the context itself holds the prefix: llama.cpp's own
reuse) and ``restored`` (another prompt ran in between; the prefix comes back from the
cache). Medians over ``--repeats``. Run: ``python -m sage.benchmark.prefix_ttft``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from sage.benchmark.serving.prompts import synthetic_text


def _ttft(llm: Any, tokens: list[int]) -> float:
    start = time.perf_counter()
    next(iter(llm.generate(tokens, temp=0.0)))
    return time.perf_counter() - start


def measure(prefix_tokens: int = 1500, repeats: int = 3) -> dict[str, Any]:
    from sage.common.models import default_llm_path
    from sage.llm.engines.llama import load_llama
    from sage.llm.engines.prefix_cache import PrefixCache

    llm = load_llama(str(default_llm_path()), n_ctx=4096)
    cache = PrefixCache(min_uses=0)  # keep the first prompt: it is what is measured
    rows: dict[str, list[float]] = {"cold": [], "live": [], "restored": [], "restore_s": [],
                                    "save_s": []}  # fmt: skip
    for repeat in range(repeats):
        system = llm.tokenize(synthetic_text(prefix_tokens, 1000 + repeat).encode(), add_bos=True)
        other = llm.tokenize(synthetic_text(64, 2000 + repeat).encode(), add_bos=True)
        question = llm.tokenize(b" Name one word from the list.", add_bos=False)
        follow_up = llm.tokenize(b" Which word comes first?", add_bos=False)
        llm.reset()
        rows["cold"].append(_ttft(llm, system + question))
        start = time.perf_counter()
        cache.save(llm)
        rows["save_s"].append(time.perf_counter() - start)
        rows["live"].append(_ttft(llm, system + follow_up))  # another question, same prefix
        _ttft(llm, other)  # the context now holds another prompt
        start = time.perf_counter()
        cache.restore(llm, system + question)
        rows["restore_s"].append(time.perf_counter() - start)
        rows["restored"].append(_ttft(llm, system + question))
    medians = {k: statistics.median(v) for k, v in rows.items()}
    return {"prefix_tokens": len(system), "repeats": repeats, "median_s": medians, "runs_s": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix-tokens", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.prefix_tokens, args.repeats), indent=2))


if __name__ == "__main__":
    main()
