"""``POST /v1/chat/completions``: messages, tools, ``tool_choice``, ``response_format``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sage.llm.protocol.common import MAX_LOGPROBS, OpenAIObject, SamplingParams

MAX_TOOLS = 128
TOOL_NAME = r"^[a-zA-Z0-9_.\-]{1,64}$"  # OpenAI's pattern, plus dots (BFCL's "math.hypot")


class ContentPart(OpenAIObject):
    """One part of a multi-part message: ``text``, ``image_url``, ``input_audio``, ..."""

    type: str
    text: str | None = None


class FunctionCall(OpenAIObject):
    name: str
    arguments: str  # a JSON object, as a string (OpenAI's convention)


class ToolCall(OpenAIObject):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(OpenAIObject):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """Content as plain text (text parts of a multi-part message joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type == "text")

    def non_text_parts(self) -> list[tuple[int, str]]:
        """``(index, type)`` of every part that is not text (images, audio, files)."""
        if not isinstance(self.content, list):
            return []
        return [(i, p.type) for i, p in enumerate(self.content) if p.type != "text"]


class FunctionDefinition(OpenAIObject):
    name: str = Field(pattern=TOOL_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(OpenAIObject):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(OpenAIObject):
    name: str


class NamedToolChoice(OpenAIObject):
    type: Literal["function"]
    function: NamedFunction


class ResponseFormatText(OpenAIObject):
    type: Literal["text"]


class ResponseFormatJSONObject(OpenAIObject):
    type: Literal["json_object"]


class JSONSchema(OpenAIObject):
    name: str = Field(pattern=TOOL_NAME)
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormatJSONSchema(OpenAIObject):
    type: Literal["json_schema"]
    json_schema: JSONSchema


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema,
    Field(discriminator="type"),
]
ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class ChatCompletionRequest(SamplingParams):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    tools: list[Tool] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)

    @model_validator(mode="after")
    def _consistent(self) -> ChatCompletionRequest:
        names = [t.function.name for t in self.tools or []]
        if isinstance(self.tool_choice, NamedToolChoice):
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names {self.tool_choice.function.name!r}, "
                    f"which is not among the tools: {names}"
                )
        elif self.tool_choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs at least one tool in tools")
        if len(set(names)) != len(names):
            raise ValueError("tools: function names must be unique")
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs: true")
        return self

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def effective_tool_choice(self) -> str | NamedToolChoice:
        """OpenAI's default: ``auto`` when tools are offered, else ``none``."""
        if not self.tools:
            return "none"
        return self.tool_choice or "auto"

    def prompt_chars(self) -> int:
        return sum(len(m.text()) for m in self.messages)
