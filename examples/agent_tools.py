"""An agent with real tools: per sub-task it selects a tool (BM25 over the tool
descriptions, a strategy from ``sage.libs.agents``), plans the call, acts, and traces
every step. Tools: a safe calculator, a clock, and file search over the demo corpus.

    python examples/agent_tools.py             # no model needed (BM25 tool selection)
    SAGE_BASE_URL=http://127.0.0.1:8888 python examples/agent_tools.py   # hybrid selection

With a gateway, selection fuses BM25 with embedding similarity (``hybrid``). The answer
is the tools' observations: SmolLM2-135M rewrites them worse than it finds them
(``compose=True`` asks the chat model for a final sentence on a bigger model).
"""

from __future__ import annotations

import os
from typing import Any

from sage.apps.rag_demo import corpus_dir
from sage.kernel import LocalEnvironment
from sage.middleware.operators import AgentOperator
from sage.middleware.tools import default_tools

TASKS = [
    "What is 17 times 23, then what time is it in Asia/Tokyo",
    "Search the documents for the lantern turtle, then compute 90 * 4",
    "what is 15% of 240",
]


def main() -> None:
    base_url = os.environ.get("SAGE_BASE_URL")
    env = LocalEnvironment("agent_tools")
    results: list[dict[str, Any]] = []
    env.from_batch(TASKS).map(AgentOperator, default_tools(str(corpus_dir())), base_url,
                              selector="hybrid" if base_url else "bm25", max_steps=4,
                              ).sink(results.append)
    env.submit()
    for result in sorted(results, key=lambda r: TASKS.index(r["task"])):
        print(f"TASK: {result['task']}")
        for step in result["trace"]:
            outcome = step["observation"] or f"error: {step['error']}"
            print(f"  step {step['step']}: {step['clause']!r} -> {step['tool']}"
                  f"({step['args']}) -> {outcome[:90]}")
        print(f"  ANSWER: {result['answer'][:200]}")


if __name__ == "__main__":
    main()
