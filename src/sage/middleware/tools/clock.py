"""Clock: the current date and time, in UTC or an IANA time zone named in the task."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sage.libs.agents import Tool
from sage.middleware.tools.base import AgentTool, ToolError

_ZONE = re.compile(r"\b([A-Z][a-z]+/[A-Z][A-Za-z_]+)\b")
_ABOUT_TIME = re.compile(r"\b(time|date|day|today|now|clock|hour|weekday|year|month)\b", re.I)


class ClockTool(AgentTool):
    spec = Tool(
        id="clock",
        name="clock",
        description="Current clock time and date now: the time of day, today's date, "
                    "day of the week, in UTC or a time zone.",
        parameters={"type": "object", "properties": {"timezone": {"type": "string"}}},
        category="time",
    )

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(timezone.utc))

    def extract(self, clause: str) -> dict[str, Any] | None:
        if not _ABOUT_TIME.search(clause):
            return None
        match = _ZONE.search(clause)
        return {"timezone": match.group(1) if match else "UTC"}

    def run(self, args: dict[str, Any]) -> str:
        name = str(args.get("timezone") or "UTC")
        try:
            zone = timezone.utc if name.upper() == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolError(f"unknown time zone {name!r}") from None
        now = self.now().astimezone(zone)
        return f"{now:%A %Y-%m-%d %H:%M:%S} {name}"
