"""Keyed word count: parallel tokenizers, counts partitioned by word with a stable hash.

Every occurrence of a word reaches the same counter instance, so each instance can keep
plain local state and report its counts when it closes.

    python examples/wordcount_keyed.py
"""

from __future__ import annotations

import threading
from collections import Counter

from sage.kernel import FlatMapFunction, LocalEnvironment, MapFunction

TEXT = [
    "the quick brown fox jumps over the lazy dog",
    "the dog barks and the fox runs",
    "a quick brown dog and a lazy fox",
    "SAGE streams words through keyed operators",
] * 25

_totals: Counter[str] = Counter()
_lock = threading.Lock()


class Tokenize(FlatMapFunction):
    def execute(self, data: str) -> list[str]:
        return [w.lower() for w in data.split()]


class CountWords(MapFunction):
    """Keyed state: this instance sees every occurrence of its words."""

    def open(self) -> None:
        self.counts: Counter[str] = Counter()

    def execute(self, word: str) -> tuple[str, int]:
        assert word == self.ctx.current_key
        self.counts[word] += 1
        return word, self.counts[word]

    def close(self) -> None:
        self.logger.debug("instance %d counted %d words", self.ctx.index, len(self.counts))
        with _lock:
            overlap = set(_totals) & set(self.counts)
            assert not overlap, f"word seen by two instances: {overlap}"
            _totals.update(self.counts)


def main() -> None:
    env = LocalEnvironment("wordcount", config={"batch_size": 64})
    (
        env.from_batch(TEXT, parallelism=2)
        .flatmap(Tokenize, parallelism=2)
        .keyby(lambda word: word)
        .map(CountWords, parallelism=3)
        .sink(lambda pair: None, parallelism=3)
    )
    metrics = env.submit()
    for word, n in sorted(_totals.items(), key=lambda kv: (-kv[1], kv[0]))[:5]:
        print(f"{word}: {n}")
    assert metrics is not None
    print(f"words: {sum(_totals.values())}, "
          f"tokenized: {metrics['Tokenize'].records_out}")


if __name__ == "__main__":
    main()
