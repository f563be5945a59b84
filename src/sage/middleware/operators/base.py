"""Shared plumbing for operators that call models: one ``LLMClient`` per instance."""

from __future__ import annotations

from typing import Any

from sage.common.errors import ConfigError
from sage.llm.client import LLMClient


class ModelCalling:
    """Mixin: ``self.client`` is opened lazily from picklable settings.

    A ``client`` object may be passed instead of ``base_url`` (tests, custom clients);
    it is then shared, not closed.
    """

    base_url: str | None
    model: str | None
    embedding_model: str | None
    _client: Any

    def _init_client(self, base_url: str | None, client: Any, model: str | None,
                     embedding_model: str | None, timeout: float,
                     required: bool = True) -> None:
        if required and base_url is None and client is None:
            raise ConfigError(f"{type(self).__name__} needs base_url= (the gateway) or client=")
        self.base_url = base_url
        self.model = model
        self.embedding_model = embedding_model
        self.timeout = timeout
        self._client = client
        self._own_client = client is None

    @property
    def client(self) -> Any:
        if self._client is None:
            if self.base_url is None:
                raise ConfigError(f"{type(self).__name__} has no base_url to call a model")
            self._client = LLMClient(self.base_url, model=self.model,
                                     embedding_model=self.embedding_model,
                                     timeout=self.timeout)
        return self._client

    def _close_client(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if state.get("_own_client"):
            state["_client"] = None  # an open HTTP client never crosses processes
        return state
