"""Timing: should the agent call a tool at all for this message?

``rules`` (lexical cues, confidence from how clear they are), ``embedding``
(similarity to yes/no prototypes and to the offered tools), ``llm`` (asks yes/no) and
``hybrid`` (rules or embedding when confident, the LLM only for the unclear rest).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from sage.libs.agents.constrained import json_schema_format, parse_json_object
from sage.libs.agents.protocols import ChatClient, EmbedClient
from sage.libs.agents.text import cosines, tool_menu, words
from sage.libs.agents.tools import Tool
from sage.libs.agents.tuning import best_threshold
from sage.libs.agents.types import TimingExample, TimingResult


class TimingStrategy(Protocol):
    name: str

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult: ...


_ACTION_VERBS = (
    "add|book|buy|calculate|cancel|change|check|compute|convert|create|delete|download|"
    "email|fetch|find|get|look up|lookup|list|locate|make|message|notify|open|order|pay|play|"
    "post|record|remind|remove|rename|reserve|retrieve|schedule|search|send|set|share|show|"
    "start|stop|submit|text|track|transfer|translate|turn|update|upload|show me|pull up|"
    "tell me the current|what's the current|what is the current|how much is|look for|"
    "display|enumerate|erase|modify|adjust|fix|edit|drop|throw away|get rid of|put in|"
    "set up|pull up|give me (?:all|every|the)|look at|what are (?:the details|all)"
)
_REQUEST = re.compile(
    rf"^(?:(?:please|hey|hi|ok|okay)[, ]+)?(?:(?:can|could|would|will) you (?:please )?|"
    rf"i need you to |i want you to |i'd like you to |go ahead and |help me )?"
    rf"(?:{_ACTION_VERBS})\b",
    re.IGNORECASE,
)
_LIVE_DATA = re.compile(
    r"\b(current|latest|today|tonight|tomorrow|right now|my (?:account|calendar|inbox|order|"
    r"balance|files?|meetings?)|\d{1,2}(?::\d\d)?\s?(?:am|pm)|\d+(?:\.\d+)?\s?(?:usd|eur|km|kg))\b",
    re.IGNORECASE,
)
_CHAT = re.compile(
    r"^(?:hi|hello|hey|thanks|thank you|good (?:morning|night|evening)|how are you|"
    r"what do you think|do you (?:like|think|believe)|tell me a joke|i (?:feel|think|love|hate|"
    r"am|was|had|just)|why do people|what does .* mean|explain|define|who (?:was|were|wrote)|"
    r"what is (?:a|an|the meaning)|can you explain|write a (?:poem|story|haiku)|lol|haha|"
    r"that's|that is|nice|cool|great|ok(?:ay)?[.!]?$)",
    re.IGNORECASE,
)


class RulesTiming:
    """Imperative action verbs / live-data cues -> call; chit-chat and knowledge
    questions -> no call. With tools offered, a request sharing no content word with
    any tool is treated as out of scope."""

    name = "rules"

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        text = message.strip()
        request = bool(_REQUEST.search(text))
        live = bool(_LIVE_DATA.search(text))
        chat = bool(_CHAT.search(text))
        if tools:
            vocab = set()
            for t in tools:
                vocab.update(words(t.text()))
            overlap = len(set(words(text)) & vocab)
        else:
            overlap = -1
        if chat and not request:
            return TimingResult(call=False, confidence=0.9, source=self.name, score=0.1)
        if request and live:
            call, conf = True, 0.9
        elif request:
            call, conf = True, 0.75
        elif live:
            call, conf = True, 0.6
        elif text.endswith("?"):
            call, conf = False, 0.55
        else:
            call, conf = False, 0.5
        if call and overlap == 0:
            call, conf = False, 0.6
        elif call and overlap >= 2:
            conf = min(0.95, conf + 0.05)
        score = conf if call else 1.0 - conf
        return TimingResult(call=call, confidence=conf, source=self.name, score=score)


POSITIVE_PROTOTYPES = (
    "Book a table for two at an Italian restaurant tonight.",
    "Send an email to my manager saying I will be late.",
    "What's the weather forecast for Berlin tomorrow?",
    "Schedule a meeting with the design team on Friday at 3pm.",
    "Convert 250 US dollars to euros.",
    "Find flights from Paris to Tokyo next week.",
    "Check the status of my order number 48213.",
    "Turn off the living room lights.",
    "Calculate the monthly payment on a 300000 loan at 4 percent.",
    "Look up the latest stock price of Apple.",
    "Create a new task in my project called quarterly report.",
    "Play some jazz music in the kitchen.",
)
NEGATIVE_PROTOTYPES = (
    "Hi there, how are you doing today?",
    "Thanks, that was really helpful!",
    "Tell me a joke about cats.",
    "What do you think about modern art?",
    "Explain what a black hole is in simple terms.",
    "Write a short poem about autumn.",
    "I had a long day at work today.",
    "What does the word serendipity mean?",
    "Who wrote Pride and Prejudice?",
    "Why is the sky blue?",
    "Can you give me some tips for staying motivated?",
    "That's funny, I like that.",
)


class EmbeddingTiming:
    """Nearest prototype set (mean of top-3 cosines to 'call' vs 'no call' examples),
    nudged by how well the message matches the best offered tool; calls when the
    margin exceeds ``threshold`` (0, or chosen on dev data by :meth:`fit`)."""

    name = "embedding"

    def __init__(
        self,
        client: EmbedClient,
        positives: Sequence[str] = POSITIVE_PROTOTYPES,
        negatives: Sequence[str] = NEGATIVE_PROTOTYPES,
        tool_weight: float = 0.5,
        scale: float = 8.0,
        threshold: float = 0.0,
    ) -> None:
        self.client = client
        self.threshold = threshold
        self.positives = list(positives)
        self.negatives = list(negatives)
        self.tool_weight = tool_weight
        self.scale = scale
        self._proto: tuple[list[list[float]], list[list[float]]] | None = None
        self._tool_vecs: dict[str, list[float]] = {}

    def _prototypes(self) -> tuple[list[list[float]], list[list[float]]]:
        if self._proto is None:
            vecs = self.client.embed(self.positives + self.negatives)
            self._proto = (vecs[: len(self.positives)], vecs[len(self.positives) :])
        return self._proto

    @staticmethod
    def _top_mean(q: list[float], vecs: list[list[float]], k: int = 3) -> float:
        sims = sorted(cosines(q, vecs), reverse=True)[:k]
        return sum(sims) / len(sims) if sims else 0.0

    def margin(self, message: str, tools: Sequence[Tool] = ()) -> float:
        pos, neg = self._prototypes()
        q = self.client.embed([message])[0]
        margin = self._top_mean(q, pos) - self._top_mean(q, neg)
        if tools:
            missing = [t.text() for t in tools if t.text() not in self._tool_vecs]
            if missing:
                self._tool_vecs.update(zip(missing, self.client.embed(missing), strict=True))
            best = max(cosines(q, [self._tool_vecs[t.text()] for t in tools]))
            # Below ~0.3 cosine no offered tool is about this message (MiniLM scale).
            margin += self.tool_weight * (best - 0.3)
        return margin

    def fit(self, train: Sequence[TimingExample], dev: Sequence[TimingExample]) -> dict[str, float]:
        """Only the threshold is fitted, on ``dev`` (the prototypes are fixed)."""
        if dev:
            margins = [self.margin(e.message, e.tools) for e in dev]
            self.threshold = best_threshold(margins, [e.should_call for e in dev])
        return {"threshold": self.threshold}

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        m = self.margin(message, tools) - self.threshold
        conf = min(1.0, 0.5 + abs(m) * self.scale / 2)
        return TimingResult(call=m > 0, confidence=conf, source=self.name, score=m)


_ECHO = re.compile(r"\b(?:should i |do i |)call a tool\s*\??", re.IGNORECASE)
_YES = re.compile(r"\b(yes|true)\b", re.IGNORECASE)
_NO = re.compile(r"\b(no|false|none|not)\b", re.IGNORECASE)
CALL_SCHEMA = {
    "type": "object",
    "properties": {"call_tool": {"type": "boolean"}},
    "required": ["call_tool"],
}


def parse_yes_no(reply: str) -> bool | None:
    """The decision in a reply: ``{"call_tool": true}``, or the first yes/no word once an
    echoed "Call a tool?" is removed ("Call a tool? No." is a no); None for neither."""
    data = parse_json_object(reply)
    if isinstance(data, dict) and isinstance(data.get("call_tool"), bool):
        return bool(data["call_tool"])
    text = _ECHO.sub(" ", reply)
    yes, no = _YES.search(text), _NO.search(text)
    if yes and (not no or yes.start() < no.start()):
        return True
    return False if no else None


class LLMTiming:
    """Asks the LLM; with ``constrained`` (default) the reply is grammar-constrained JSON
    ``{"call_tool": bool}`` (``response_format``), else free text read by
    :func:`parse_yes_no`. A reply with neither falls back to the rules."""

    name = "llm"

    def __init__(
        self, client: ChatClient, max_tokens: int = 12, max_tools: int = 8, constrained: bool = True
    ) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.max_tools = max_tools
        self.constrained = constrained
        self.rules = RulesTiming()

    def prompt(self, message: str, tools: Sequence[Tool]) -> list[dict[str, str]]:
        offered = f"Available tools:\n{tool_menu(tools[: self.max_tools])}\n\n" if tools else ""
        answer = 'Reply {"call_tool": true} or {"call_tool": false}.' if self.constrained else (
            "Answer 'yes' or 'no' only."
        )
        return [
            {
                "role": "system",
                "content": "Decide whether answering the user needs calling one of the "
                "available tools (an external action or live data) or can be answered "
                f"directly. {answer}",
            },
            {"role": "user", "content": f"{offered}Message: {message}\n\nCall a tool?"},
        ]

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        extra = {"response_format": json_schema_format("timing", CALL_SCHEMA)} if (
            self.constrained
        ) else {}
        reply = self.client.chat(self.prompt(message, tools), max_tokens=self.max_tokens, **extra)
        call = parse_yes_no(reply)
        if call is not None:
            return TimingResult(call=call, confidence=0.7, source=self.name, llm_calls=1)
        result = self.rules.decide(message, tools)
        result.llm_calls = 1
        result.fell_back("reply was neither yes nor no")
        return result


class HybridTiming:
    """Rules when they are sure, else embedding when its margin is clear, else the LLM:
    most messages never cost an LLM call."""

    name = "hybrid"

    def __init__(
        self,
        client: ChatClient,
        embed_client: EmbedClient | None = None,
        rules_threshold: float = 0.85,
        embedding_threshold: float = 0.8,
    ) -> None:
        self.rules = RulesTiming()
        self.embedding = EmbeddingTiming(embed_client or client)  # type: ignore[arg-type]
        self.llm = LLMTiming(client)
        self.rules_threshold = rules_threshold
        self.embedding_threshold = embedding_threshold

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        r = self.rules.decide(message, tools)
        if r.confidence >= self.rules_threshold:
            return r
        e = self.embedding.decide(message, tools)
        if e.confidence >= self.embedding_threshold:
            return e
        return self.llm.decide(message, tools)
