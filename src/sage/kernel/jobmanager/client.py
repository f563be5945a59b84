"""httpx client of the job manager API, with errors a CLI user can act on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from sage.common.admin_token import admin_headers
from sage.common.errors import SageError


class JobManagerError(SageError):
    """A job manager request failed; ``status_code`` is 0 when it was unreachable."""

    def __init__(self, message: str, status_code: int = 0) -> None:
        super().__init__(message)
        self.status_code = status_code


class JobManagerClient:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        # Without a key, the admin token a local job manager wrote (empty if none).
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else admin_headers()
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JobManagerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise JobManagerError(f"the job manager is not running at {self.url} (start it "
                                  "with `sage jobmanager start`)") from exc
        except httpx.HTTPError as exc:
            raise JobManagerError(f"job manager at {self.url}: {exc}") from exc
        if response.status_code == 401:
            raise JobManagerError("the job manager rejected the API key or admin token "
                                  "(401): pass --api-key or set SAGE_JOBMANAGER_API_KEY",
                                  401)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise JobManagerError(f"{detail} (HTTP {response.status_code})",
                                  response.status_code)
        return response.json()

    def health(self) -> dict[str, Any]:
        return dict(self._request("GET", "/health"))

    def submit(self, entrypoint: list[str], name: str | None = None,
               working_dir: str | None = None, env: dict[str, str] | None = None,
               resources: dict[str, float] | None = None,
               limits: dict[str, int] | None = None) -> dict[str, Any]:
        body = {"entrypoint": entrypoint, "name": name, "working_dir": working_dir,
                "env": env or {}, "resources": resources or {}, "limits": limits or {}}
        return dict(self._request("POST", "/jobs", json=body))

    def list(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/jobs"))

    def get(self, job_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/jobs/{job_id}"))

    def logs(self, job_id: str, offset: int = 0) -> dict[str, Any]:
        return dict(self._request("GET", f"/jobs/{job_id}/logs", params={"offset": offset}))

    def follow(self, job_id: str, interval_s: float = 0.5) -> Iterator[str]:
        """Yield log text as it grows until the job has ended and everything was read."""
        offset = 0
        while True:
            chunk = self.logs(job_id, offset)
            if chunk["data"]:
                yield chunk["data"]
            offset = chunk["offset"]
            if chunk["done"]:
                return
            if not chunk["data"]:
                time.sleep(interval_s)

    def stop(self, job_id: str) -> dict[str, Any]:
        return dict(self._request("POST", f"/jobs/{job_id}/stop"))

    def delete(self, job_id: str) -> dict[str, Any]:
        return dict(self._request("DELETE", f"/jobs/{job_id}"))

    def wait(self, job_id: str, timeout: float = 60.0, interval_s: float = 0.2
             ) -> dict[str, Any]:
        """Poll until the job reaches a terminal status (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] in ("succeeded", "failed", "stopped"):
                return job
            if time.monotonic() > deadline:
                raise JobManagerError(f"job {job_id} still {job['status']} after {timeout}s")
            time.sleep(interval_s)
