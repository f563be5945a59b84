"""Session-wide fixtures, one module per concern under ``tests/fixtures``."""

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The admin token of every gateway/job manager the tests start: a temp file, never ~/.sage.
os.environ.setdefault(
    "SAGE_SECURITY__ADMIN_TOKEN_FILE",
    os.path.join(tempfile.mkdtemp(prefix="sage-test-admin-"), "admin_token"),
)

pytest_plugins = [
    "tests.fixtures.engines",
    "tests.fixtures.gateway",
    "tests.fixtures.ray_cluster",
]
