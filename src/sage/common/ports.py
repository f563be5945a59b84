"""The one registry of SAGE's network ports, so that no component invents its own.

Every default is documented in the README and overridable (``SAGE_PORTS__GATEWAY=9000``
or the ``ports:`` table of a settings file).
"""

from __future__ import annotations

import socket

from pydantic import BaseModel, Field

DEFAULT_HOST = "127.0.0.1"

# HTTP keep-alive on both sides of every hop. A client that reuses a pooled connection
# just as the server closes it for idleness fails the call ("Can not write request
# body"), and a gateway with one engine of a kind then has nowhere to retry. So SAGE's
# servers keep idle connections longer than common clients pool them (httpx and the
# openai SDK: 5 s), and SAGE's own clients drop them before common servers close them
# (uvicorn and vLLM: 5 s).
SERVER_KEEP_ALIVE_S = 65
CLIENT_POOL_IDLE_S = 4.0


class SagePorts(BaseModel):
    """Fixed, documented ports; ranges are ``[start, end]`` inclusive."""

    gateway: int = Field(8888, description="OpenAI-compatible gateway")
    llm_engine_base: int = Field(8001, description="first port for LLM engines")
    embedding_engine_base: int = Field(8090, description="first port for embedding engines")
    job_manager: int = Field(19001, description="job manager service")
    studio: int = Field(5173, description="studio web UI")
    benchmark_start: int = Field(8900, description="first port for benchmark helpers")
    benchmark_end: int = Field(8999, description="last port for benchmark helpers")

    def engine_port(self, kind: str, index: int) -> int:
        """The port of the ``index``-th engine of ``kind`` ("llm" or "embedding")."""
        base = self.llm_engine_base if kind == "llm" else self.embedding_engine_base
        return base + index


def is_port_free(port: int, host: str = DEFAULT_HOST) -> bool:
    """True when nothing listens on ``host:port`` (checked by binding, not connecting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_free_port(start: int, end: int | None = None, host: str = DEFAULT_HOST) -> int:
    """The first free port in ``[start, end]``; ``end`` defaults to ``start + 99``."""
    last = end if end is not None else start + 99
    for port in range(start, last + 1):
        if is_port_free(port, host):
            return port
    raise OSError(f"no free port in {start}-{last} on {host}")


def ephemeral_port(host: str = DEFAULT_HOST) -> int:
    """A port the OS considers free right now (for tests that must not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
