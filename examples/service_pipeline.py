"""Services in a pipeline: a sync call, async calls, and a pipeline used as a service.

    python examples/service_pipeline.py
"""

from __future__ import annotations

from typing import Any

from sage.kernel import BaseService, LocalEnvironment, MapFunction, PipelineService


class Sentiment(BaseService):
    """A toy lexicon model: one instance per job, calls are served one at a time."""

    def __init__(self, positive: set[str], negative: set[str]) -> None:
        self.positive = positive
        self.negative = negative

    def process(self, word: str) -> int:
        return (word in self.positive) - (word in self.negative)

    def vocabulary(self) -> int:
        return len(self.positive) + len(self.negative)


class ScoreReview(MapFunction):
    """Scores all words concurrently with async calls, then asks the keyword pipeline."""

    def execute(self, review: str) -> dict[str, Any]:
        futures = [self.call_service_async("sentiment", w) for w in review.lower().split()]
        score = sum(f.result(timeout=10) for f in futures)
        keywords = self.call_service("keywords", review, timeout=30)
        vocab = self.call_service("sentiment", method="vocabulary")
        return {"review": review, "score": score, "keywords": keywords, "vocab": vocab}


def keyword_pipeline(stream: Any) -> Any:
    """The pipeline behind the ``keywords`` service."""
    return (stream.flatmap(lambda text: text.lower().split())
            .filter(lambda w: len(w) > 4)
            .map(lambda w: w.strip(".,!")))


def main() -> None:
    env = LocalEnvironment("reviews")
    env.register_service("sentiment", Sentiment, {"great", "love", "fast"},
                         {"slow", "broken", "bad"})
    env.register_service("keywords", PipelineService, keyword_pipeline, single=False)
    reviews = ["Great tool, love the speed", "Slow install and broken docs",
               "Fast pipelines, great services"]
    results: list[dict[str, Any]] = []
    env.from_batch(reviews).map(ScoreReview, parallelism=2).sink(results.append)
    env.submit()
    for r in sorted(results, key=lambda r: r["review"]):
        print(f"{r['score']:+d} {r['review']!r} keywords={sorted(r['keywords'])}")


if __name__ == "__main__":
    main()
