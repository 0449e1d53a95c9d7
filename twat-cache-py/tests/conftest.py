"""Every test runs with its own cache root (TWAT_CACHE_DIR) in a temp dir."""

import pytest

import twat_cache


@pytest.fixture(autouse=True)
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache-root"
    root.mkdir()
    monkeypatch.setenv("TWAT_CACHE_DIR", str(root))
    monkeypatch.delenv("TWAT_CACHE_DISABLE", raising=False)
    yield root
    twat_cache.clear_cache()
