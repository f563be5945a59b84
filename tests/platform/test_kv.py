"""SQLite KV: CRUD, namespaces, persistence across instances."""

from __future__ import annotations

from pathlib import Path

from sage.platform.storage import SQLiteKV


def test_crud_and_namespaces() -> None:
    with SQLiteKV() as kv:
        kv.put("a", {"x": [1, 2]})
        kv.put("a", "other", namespace="ns2")
        kv.put("ab", 3)
        assert kv.get("a") == {"x": [1, 2]}
        assert kv.get("a", namespace="ns2") == "other"
        assert kv.get("missing", default=7) == 7
        assert kv.keys(prefix="a") == ["a", "ab"]
        assert dict(kv.items()) == {"a": {"x": [1, 2]}, "ab": 3}
        assert kv.delete("a") and not kv.delete("a")
        assert len(kv) == 2


def test_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "kv.sqlite"
    with SQLiteKV(path) as kv:
        kv.put("k", [1, "two"])
    with SQLiteKV(path) as kv:
        assert kv.get("k") == [1, "two"]
