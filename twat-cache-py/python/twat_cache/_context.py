"""``CacheContext`` and ``engine_context``: a cache used directly, released on exit."""

from __future__ import annotations

import contextlib
import itertools
import os
from typing import Any, Iterator, Optional

from twat_cache import _native
from twat_cache._config import CacheConfig

_UNNAMED = itertools.count(1)


class CacheContext:
    """A cache handle over any engine, as a context manager.

    ``engine_name`` is ``"memory"`` (default), ``"disk"``, ``"file"`` or a Python backend
    name: ``"cachetools"``, ``"cachebox"``, ``"functools"``, ``"aiocache"`` (memory),
    ``"diskcache"``, ``"sql"`` (disk), ``"joblib"`` (file). Keys are encoded
    deterministically (``None``/bool/int/float/str/bytes/tuple/list/dict/set/frozenset/
    dataclass/Enum), values pickled. ``with CacheContext(...) as cache:`` opens the engine
    and closes it (flushed, folder lock released) on exit; ``close()`` does the same.
    """

    def __init__(self, engine_name: Optional[str] = None, folder_name: Optional[str] = None,
                 ttl: Any = None, maxsize: Any = None, *, policy: Optional[str] = None,
                 compress: bool = False, secure: bool = True, name: Optional[str] = None,
                 config: Optional[CacheConfig] = None) -> None:
        if config is not None:
            if not isinstance(config, CacheConfig):
                raise TypeError(f"twat_cache: config must be a CacheConfig, not {type(config).__name__}")
            folder_name = folder_name if folder_name is not None else config.folder_name
            ttl = ttl if ttl is not None else config.ttl
            maxsize = maxsize if maxsize is not None else config.maxsize
            policy = policy if policy is not None else config.policy
            compress = compress or config.compress
            secure = secure and config.secure
            engine_name = engine_name if engine_name is not None else config.preferred_engine
            name = name if name is not None else config.name
        if engine_name is None:
            engine_name = "disk" if folder_name is not None else "memory"
        if not isinstance(engine_name, str):
            raise TypeError(f"twat_cache: engine_name must be a str, not {type(engine_name).__name__}")
        if folder_name is not None and not isinstance(folder_name, (str, os.PathLike)):
            raise TypeError(f"twat_cache: folder_name must be a str or None, not {type(folder_name).__name__}")
        if name is None:
            name = (os.fspath(folder_name) if folder_name is not None
                    else f"twat_cache.context.{next(_UNNAMED)}")
        self.name = name
        self._native = _native.NativeContext(
            engine_name, name, os.fspath(folder_name) if folder_name is not None else None,
            maxsize, ttl, policy, compress, secure)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` (``None``) when absent or expired."""
        return self._native.get(key, default)

    def set(self, key: Any, value: Any) -> None:
        """Stores ``value`` (pickled) under ``key``."""
        self._native.set(key, value)

    def delete(self, key: Any) -> bool:
        """Removes the entry under ``key``; ``True`` if there was one."""
        return self._native.delete(key)

    def clear(self) -> None:
        """Removes every entry (on disk too)."""
        self._native.clear()

    def stats(self) -> dict[str, Any]:
        """``hits``, ``misses``, ``inserts``, ``evictions``, ``errors``, ``size``, ``maxsize``, ``stale_hits``, ``hit_ratio``."""
        return self._native.stats()

    @property
    def engine(self) -> str:
        """The engine in use: ``"memory"``, ``"disk"`` or ``"file"``."""
        return self._native.engine

    @property
    def closed(self) -> bool:
        """Whether the handle was closed."""
        return self._native.closed

    def close(self) -> None:
        """Flushes and releases the engine; later calls raise ``ValueError``."""
        self._native.close()

    def __enter__(self) -> "CacheContext":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.engine
        return f"<CacheContext {self.name!r} ({state})>"


@contextlib.contextmanager
def engine_context(engine_name: Optional[str] = None, folder_name: Optional[str] = None,
                   ttl: Any = None, maxsize: Any = None, **options: Any) -> Iterator[CacheContext]:
    """``with engine_context(...) as cache:``: a ``CacheContext`` opened for the block and
    closed after it, even when it raises."""
    cache = CacheContext(engine_name, folder_name, ttl, maxsize, **options)
    try:
        yield cache
    finally:
        cache.close()
