"""twat_cache: memoize Python functions in memory, on disk, in files or for ``async
def``, on the Rust engines of twat-cache.

>>> from twat_cache import mcache
>>> @mcache(maxsize=128)
... def square(n: int) -> int:
...     return n * n
>>> square(12), square(12), square.cache_info().hits
(144, 144, 1)
"""

from __future__ import annotations

from typing import Any, Optional

from twat_cache import _native
from twat_cache._config import CacheConfig, create_cache_config
from twat_cache._context import CacheContext, engine_context
from twat_cache._decorators import (
    AsyncCached,
    CacheInfo,
    MemoryCached,
    PersistentCached,
    acache,
    bcache,
    fcache,
    mcache,
    ucache,
)

#: Engine names ``CacheContext(engine_name=...)`` accepts.
ENGINE_NAMES: tuple[str, ...] = tuple(_native.ENGINE_NAMES)


def clear_cache(name: Optional[str] = None) -> None:
    """Empties the cache registered as ``name`` (a decorated function's
    ``module.qualname`` unless ``name=`` was given), or every live cache — persistent
    entries too — when ``name`` is ``None``. An unknown name is not an error."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"twat_cache: name must be a str or None, not {type(name).__name__}")
    _native.clear_cache(name)


def get_stats(name: Optional[str] = None) -> Optional[dict[str, Any]]:
    """Statistics of the cache registered as ``name`` (``None`` when no live cache has
    that name), or of every live cache summed when ``name`` is ``None``: ``hits``,
    ``misses``, ``inserts``, ``evictions``, ``errors``, ``size``, ``maxsize``,
    ``stale_hits``, ``hit_ratio``."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"twat_cache: name must be a str or None, not {type(name).__name__}")
    return _native.get_stats(name)


def cache_names() -> list[str]:
    """The names of every live cache, sorted."""
    return _native.cache_names()


__all__ = [
    "AsyncCached",
    "CacheConfig",
    "CacheContext",
    "CacheInfo",
    "ENGINE_NAMES",
    "MemoryCached",
    "PersistentCached",
    "acache",
    "bcache",
    "cache_names",
    "clear_cache",
    "create_cache_config",
    "engine_context",
    "fcache",
    "get_stats",
    "mcache",
    "ucache",
]
