"""``POST /v1/embeddings``: text inputs, or token ids for engines that take them."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, field_validator

from sage.llm.openai_errors import OpenAIError
from sage.llm.protocol.common import OpenAIBody, as_items

EmbeddingInput = str | list[str] | list[int] | list[list[int]]

TOKEN_IDS_HINT = (
    "this embedding engine takes text, not token ids; LangChain's OpenAIEmbeddings "
    "sends token ids unless created with check_embedding_ctx_length=False"
)


class EmbeddingRequest(OpenAIBody):
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)

    @field_validator("input")
    @classmethod
    def _inputs_present(cls, value: EmbeddingInput) -> EmbeddingInput:
        if isinstance(value, list):
            if not value:
                raise ValueError("input must not be empty")
            if any(not item for item in value if not isinstance(item, int)):
                raise ValueError("input must not contain empty strings or token lists")
        elif not value:
            raise ValueError("input must not be empty")
        return value

    def inputs(self) -> list[str | list[int]]:
        """One item per embedding to return (a text or a token-id list)."""
        return as_items(self.input)

    @property
    def texts(self) -> list[str]:
        """The inputs as text; token ids are a 400 that says what to do instead."""
        items = self.inputs()
        if not all(isinstance(item, str) for item in items):
            raise OpenAIError(400, TOKEN_IDS_HINT, param="input", code="token_ids_not_supported")
        return items  # type: ignore[return-value]

    def encode(self, vector: list[float]) -> list[float] | str:
        """``vector`` as the client asked: floats, or base64 of little-endian float32."""
        if self.encoding_format == "float":
            return vector
        import numpy as np

        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
