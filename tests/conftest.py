"""Session-wide fixtures, one module per concern under ``tests/fixtures``."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The admin token of every gateway/job manager the tests start: a temp file, never ~/.sage,
# removed when the session ends.
if "SAGE_SECURITY__ADMIN_TOKEN_FILE" not in os.environ:
    _admin_dir = tempfile.mkdtemp(prefix="sage-test-admin-")
    atexit.register(shutil.rmtree, _admin_dir, ignore_errors=True)
    os.environ["SAGE_SECURITY__ADMIN_TOKEN_FILE"] = os.path.join(_admin_dir, "admin_token")

pytest_plugins = [
    "tests.fixtures.engines",
    "tests.fixtures.gateway",
    "tests.fixtures.ray_cluster",
]
