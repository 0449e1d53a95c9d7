"""CacheContext, engine_context, CacheConfig, clear_cache/get_stats, ucache selection."""

import dataclasses

import pytest

import twat_cache
from twat_cache import (
    CacheConfig,
    CacheContext,
    MemoryCached,
    PersistentCached,
    clear_cache,
    create_cache_config,
    engine_context,
    get_stats,
    mcache,
    ucache,
)


@pytest.mark.parametrize("engine_name", twat_cache.ENGINE_NAMES)
def test_cache_context_for_every_engine(engine_name):
    with CacheContext(engine_name=engine_name, folder_name=f"ctx_{engine_name}", ttl=600) as cache:
        assert cache.get("session_data_user123") is None
        cache.set("session_data_user123", {"cart": ["a", "b"]})
        assert cache.get("session_data_user123") == {"cart": ["a", "b"]}
        assert cache.get(("user", 7), default="absent") == "absent"
        assert cache.delete("session_data_user123") is True
        assert cache.delete("session_data_user123") is False
        cache.set(1, 2)
        stats = cache.stats()
        assert stats["hits"] == 1 and stats["size"] == 1
        cache.clear()
        assert cache.get(1) is None
        assert cache.stats()["size"] == 0
    assert cache.closed
    with pytest.raises(ValueError, match="closed"):
        cache.get("x")


def test_a_persistent_context_reopens_with_its_entries():
    with CacheContext(engine_name="diskcache", folder_name="session_cache", ttl=600) as cache:
        cache.set("k", [1, 2])
        assert cache.engine == "disk"
    with CacheContext(engine_name="disk", folder_name="session_cache") as cache:
        assert cache.get("k") == [1, 2]


def test_engine_context_closes_even_on_error():
    with pytest.raises(RuntimeError):
        with engine_context("file", "ctx_file") as cache:
            cache.set("big", b"x" * 100_000)
            raise RuntimeError("inside")
    assert cache.closed
    with engine_context(engine_name="joblib", folder_name="ctx_file") as cache:
        assert cache.get("big") == b"x" * 100_000


def test_named_contexts_show_in_the_registry():
    with CacheContext(name="sessions") as cache:
        cache.set("a", 1)
        cache.get("a")
        assert get_stats("sessions")["hits"] == 1
        clear_cache("sessions")
        assert cache.get("a") is None
    assert get_stats("sessions") is None


def test_bad_context_arguments():
    with pytest.raises(ValueError, match="valid names: 'memory'"):
        CacheContext(engine_name="redisx")
    with pytest.raises(TypeError):
        CacheContext(engine_name=3)
    with pytest.raises(ValueError):
        CacheContext(engine_name="disk", folder_name="/etc")
    with pytest.raises(TypeError, match="the key"):
        with CacheContext() as cache:
            cache.set(object(), 1)
    with pytest.raises(ValueError, match="policy"):
        CacheContext(policy="mru")


def test_cache_config_validation_and_use():
    config = create_cache_config(maxsize=100, ttl=60, policy="lfu", folder_name="cfg")
    assert isinstance(config, CacheConfig) and config.policy == "lfu"
    assert dataclasses.replace(config, ttl="90s").ttl == "90s"
    with CacheContext(config=config) as cache:
        assert cache.engine == "disk"
    with pytest.raises(TypeError, match="unknown setting"):
        create_cache_config(colour="red")
    with pytest.raises(ValueError, match="policy"):
        CacheConfig(policy="mru")
    with pytest.raises(ValueError, match="maxsize"):
        CacheConfig(maxsize=-1)
    with pytest.raises(TypeError, match="ttl"):
        CacheConfig(ttl=[1])
    with pytest.raises(ValueError, match="ttl"):
        CacheConfig(ttl=float("inf"))
    with pytest.raises(ValueError, match="preferred_engine"):
        CacheConfig(preferred_engine="nope")


def test_ucache_picks_like_the_rust_facade():
    @ucache(ttl=1800, compress=True)
    def complex_calculation(a: int, b: float, c: str) -> str:
        return f"{a}-{b}-{c}"

    @ucache(folder_name="u_disk")
    def on_disk(x):
        return x

    @ucache(folder_name="u_file", compress=True)
    def in_files(x):
        return x

    @ucache(preferred_engine="diskcache", folder_name="u_pref")
    def preferred(x):
        return x

    assert complex_calculation(1, 2.5, "c") == "1-2.5-c"
    assert isinstance(complex_calculation, MemoryCached)
    assert isinstance(on_disk, PersistentCached) and on_disk.cache_parameters()["engine"] == "disk"
    assert in_files.cache_parameters()["engine"] == "file"
    assert preferred.cache_parameters()["engine"] == "disk"
    with pytest.raises(ValueError, match="preferred_engine"):
        ucache(preferred_engine="nope")


def test_get_stats_all_and_clear_all():
    @mcache(name="a_stats")
    def a(x):
        return x

    @mcache(name="b_stats")
    def b(x):
        return x

    a(1), a(1), b(1)
    total = get_stats()
    assert total["hits"] >= 1 and total["misses"] >= 2
    assert {"a_stats", "b_stats"} <= set(twat_cache.cache_names())
    clear_cache()
    assert a.cache_info().currsize == 0 and b.cache_info().currsize == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"maxsize": -1}, ValueError),
        ({"maxsize": "ten"}, ValueError),
        ({"maxsize": 1.5}, TypeError),
        ({"maxsize": True}, TypeError),
        ({"ttl": -5}, ValueError),
        ({"ttl": "soon"}, ValueError),
        ({"ttl": object()}, TypeError),
        ({"ttl": float("nan")}, ValueError),
        ({"ttl": 1e300}, ValueError),
        ({"maxsize": 2**70}, ValueError),
        ({"policy": "mru"}, ValueError),
        ({"policy": 3}, TypeError),
        ({"secure": "no"}, TypeError),
        ({"key": 5}, TypeError),
    ],
)
def test_mcache_bad_arguments(kwargs, error):
    with pytest.raises(error):
        mcache(**kwargs)(lambda x: x)


def test_bad_names():
    with pytest.raises(TypeError):
        get_stats(5)
    with pytest.raises(TypeError):
        clear_cache(5)
    clear_cache("never-registered")
