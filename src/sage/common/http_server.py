"""uvicorn settings every SAGE server shares: keep-alive, graceful shutdown, and a header
limit answered with a real 431 (uvicorn's h11 answers 400 and closes the socket while
the client still sends, so the client sees a reset instead of any response)."""

from __future__ import annotations

import json
from typing import Any

from sage.common.ports import SERVER_KEEP_ALIVE_S

MAX_HEADER_BYTES = 64 * 1024
_DRAIN_S = 2.0  # how long a refused client may keep sending before we close


def header_limit_protocol() -> type:
    """uvicorn's h11 protocol, answering oversize headers with 431 (JSON) and reading
    what the client still sends before closing, so the client gets to read the answer."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderLimitProtocol(H11Protocol):  # type: ignore[misc]
        _status_hint = 400
        _draining = False

        def data_received(self, data: bytes) -> None:
            if self._draining:
                return  # the answer is out; discard the rest of the oversize request
            super().data_received(data)

        def handle_events(self) -> None:
            try:
                self.conn.next_event = _noting(self.conn.next_event, self)
            except AttributeError:
                pass
            super().handle_events()

        def send_400_response(self, msg: str) -> None:
            if self._status_hint != 431:
                super().send_400_response(msg)
                return
            body = json.dumps(
                {
                    "error": {
                        "message": f"request headers exceed {MAX_HEADER_BYTES} bytes",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "headers_too_large",
                    },
                    "detail": f"request headers exceed {MAX_HEADER_BYTES} bytes",
                }
            ).encode()
            head = (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: application/json\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
            )
            self.transport.write(head + body)
            self._draining = True
            if self.transport.can_write_eof():
                self.transport.write_eof()
            import asyncio

            asyncio.get_running_loop().call_later(_DRAIN_S, self.transport.close)

    def _noting(next_event: Any, protocol: Any) -> Any:
        if getattr(next_event, "_sage_noting", False):
            return next_event

        def wrapped() -> Any:
            try:
                return next_event()
            except h11.RemoteProtocolError as exc:
                protocol._status_hint = exc.error_status_hint
                raise

        wrapped._sage_noting = True  # type: ignore[attr-defined]
        return wrapped

    return HeaderLimitProtocol


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run``."""
    return {
        "http": header_limit_protocol(),
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": SERVER_KEEP_ALIVE_S,
        "timeout_graceful_shutdown": 5,
    }
