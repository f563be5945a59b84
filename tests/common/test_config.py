from __future__ import annotations

from pathlib import Path

import pytest

from sage.common.config import load_settings
from sage.common.ports import SagePorts, ephemeral_port, find_free_port, is_port_free


def test_port_defaults_match_the_docs() -> None:
    p = SagePorts()
    assert (p.gateway, p.llm_engine_base, p.embedding_engine_base) == (8888, 8001, 8090)
    assert (p.job_manager, p.studio, p.benchmark_start, p.benchmark_end) == (19001, 5173, 8900, 8999)
    assert p.engine_port("llm", 2) == 8003
    assert p.engine_port("embedding", 1) == 8091


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "sage.yaml"
    cfg.write_text("ports:\n  gateway: 9100\n  job_manager: 19100\nlog_level: DEBUG\n")
    monkeypatch.setenv("SAGE_PORTS__GATEWAY", "9200")
    s = load_settings(cfg)
    assert s.ports.gateway == 9200
    assert s.ports.job_manager == 19100
    assert s.log_level == "DEBUG"


def test_toml_file(tmp_path: Path) -> None:
    cfg = tmp_path / "sage.toml"
    cfg.write_text('[gateway]\npolicy = "fifo"\n[[gateway.api_keys]]\nkey = "k1"\ntenant = "t1"\n')
    s = load_settings(cfg)
    assert s.gateway.policy == "fifo"
    assert s.gateway.api_keys[0].tenant == "t1"


def test_free_port_helpers() -> None:
    port = ephemeral_port()
    assert is_port_free(port)
    assert find_free_port(port, port) == port


@pytest.mark.parametrize("field", list(SagePorts.model_fields))
def test_every_port_is_overridable_by_env(field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"SAGE_PORTS__{field.upper()}", "12345")
    assert getattr(load_settings().ports, field) == 12345


def test_settings_file_named_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "sage.toml"
    cfg.write_text('log_level = "WARNING"\n[ports]\nstudio = 5999\n')
    monkeypatch.setenv("SAGE_CONFIG", str(cfg))
    monkeypatch.setenv("SAGE_LOG_LEVEL", "ERROR")  # the environment wins over the file
    s = load_settings()
    assert s.ports.studio == 5999 and s.log_level == "ERROR"
    with pytest.raises(ValueError, match="yaml"):
        load_settings(tmp_path / "sage.ini")
