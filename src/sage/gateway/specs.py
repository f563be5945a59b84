"""``--engine-url`` specs: an external engine as ``URL[,kind=..][,capacity=..][,model=..]``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EngineSpec:
    """An engine the gateway should route to, known by URL."""

    url: str
    kind: str = "llm"
    models: list[str] = field(default_factory=list)
    capacity: int = 1
    max_batch: int = 64
    id: str | None = None

    @classmethod
    def parse(cls, text: str) -> EngineSpec:
        """``http://h:p`` plus optional ``,key=value`` parts (kind, capacity, max_batch, id,
        model; model may repeat)."""
        url, *parts = [p.strip() for p in text.split(",") if p.strip()]
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"engine URL must start with http:// or https://: {url!r}")
        spec = cls(url)
        for part in parts:
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"expected key=value in engine spec, got {part!r}")
            if key == "kind":
                if value not in ("llm", "embedding", "both"):
                    raise ValueError(f"kind must be llm, embedding or both, not {value!r}")
                spec.kind = value
            elif key in ("capacity", "max_batch"):
                setattr(spec, key, int(value))
            elif key == "model":
                spec.models.append(value)
            elif key == "id":
                spec.id = value
            else:
                raise ValueError(f"unknown engine spec key {key!r}")
        return spec

    def to_arg(self) -> str:
        parts = [
            self.url,
            f"kind={self.kind}",
            f"capacity={self.capacity}",
            f"max_batch={self.max_batch}",
        ]
        parts += [f"model={m}" for m in self.models]
        if self.id:
            parts.append(f"id={self.id}")
        return ",".join(parts)
