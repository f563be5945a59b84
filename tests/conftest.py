"""Session-wide fixtures, one module per concern under ``tests/fixtures``."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = [
    "tests.fixtures.engines",
    "tests.fixtures.gateway",
    "tests.fixtures.ray_cluster",
]
