"""Hello world: a bounded source, a map and a sink, run locally.

    python examples/hello_world.py
"""

from __future__ import annotations

from sage.kernel import BatchFunction, LocalEnvironment, MapFunction, SinkFunction


class HelloBatch(BatchFunction):
    """Emits ``count`` greetings, then ``None`` to end the stream."""

    def __init__(self, count: int = 5) -> None:
        self.count = count
        self.sent = 0

    def execute(self) -> str | None:
        if self.sent >= self.count:
            return None
        self.sent += 1
        return f"Hello, World! #{self.sent}"


class Shout(MapFunction):
    def execute(self, data: str) -> str:
        return data.upper()


class PrintSink(SinkFunction):
    def execute(self, data: str) -> None:
        print(data, flush=True)

    def close(self) -> None:
        print("done", flush=True)


def main() -> None:
    env = LocalEnvironment("hello_world")
    env.from_batch(HelloBatch, 5).map(Shout).sink(PrintSink)
    env.submit(autostop=True)  # returns once the source is drained and the sink closed


if __name__ == "__main__":
    main()
