"""The job manager: a small HTTP service that runs pipeline scripts as jobs.

:mod:`.store` keeps the job table in SQLite (it survives restarts), :mod:`.launchers`
start jobs as local process groups or through Ray's Job Submission API,
:mod:`.manager` ties them together (and reconciles after a restart), :mod:`.server` is
the FastAPI app and :mod:`.client` the httpx client the ``sage job`` CLI uses. JSON
only on the wire, never pickle.
"""

from sage.kernel.jobmanager.client import JobManagerClient, JobManagerError
from sage.kernel.jobmanager.store import JobRecord, JobStatus, JobStore

__all__ = ["JobManagerClient", "JobManagerError", "JobRecord", "JobStatus", "JobStore"]
