"""``CacheConfig`` and ``create_cache_config``: a validated set of cache settings."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Union

_POLICIES = ("lru", "lfu", "fifo", "rr", "random", "tinylfu", "ttl", "unbounded")
_ENGINES = ("memory", "cachetools", "cachebox", "functools", "aiocache", "async", "disk",
            "diskcache", "sql", "file", "joblib")


@dataclasses.dataclass(frozen=True)
class CacheConfig:
    """Cache settings, validated when built (``TypeError``/``ValueError`` naming the field).

    ``maxsize``: entries for memory caches, bytes (or ``"512 MiB"``) for persistent ones;
    ``ttl``: seconds or a duration string (``"90s"``, ``"1h 30m"``); ``policy``: ``"lru"``,
    ``"lfu"``, ``"fifo"``, ``"rr"``, ``"tinylfu"``, ``"ttl"``, ``"unbounded"``;
    ``folder_name``: a folder under the cache root; ``preferred_engine``: an engine name.
    """

    maxsize: Optional[Union[int, str]] = None
    ttl: Optional[Union[int, float, str]] = None
    policy: str = "lru"
    folder_name: Optional[str] = None
    compress: bool = False
    secure: bool = True
    preferred_engine: Optional[str] = None
    name: Optional[str] = None

    def __post_init__(self) -> None:
        if self.maxsize is not None:
            if isinstance(self.maxsize, bool) or not isinstance(self.maxsize, (int, str)):
                raise TypeError(f"twat_cache: maxsize must be an int, a size string or None, not {type(self.maxsize).__name__}")
            if isinstance(self.maxsize, int) and self.maxsize < 0:
                raise ValueError(f"twat_cache: maxsize must be >= 0, got {self.maxsize}")
        if self.ttl is not None:
            if isinstance(self.ttl, bool) or not isinstance(self.ttl, (int, float, str)):
                raise TypeError(f"twat_cache: ttl must be seconds, a duration string or None, not {type(self.ttl).__name__}")
            if isinstance(self.ttl, (int, float)) and not 0 < self.ttl < float("inf"):
                raise ValueError(f"twat_cache: ttl must be a finite number of seconds > 0, got {self.ttl}")
        if not isinstance(self.policy, str):
            raise TypeError(f"twat_cache: policy must be a str, not {type(self.policy).__name__}")
        if self.policy.lower() not in _POLICIES:
            raise ValueError(f"twat_cache: unknown policy {self.policy!r}; valid policies: {', '.join(_POLICIES)}")
        if self.folder_name is not None and not isinstance(self.folder_name, str):
            raise TypeError(f"twat_cache: folder_name must be a str or None, not {type(self.folder_name).__name__}")
        for flag in ("compress", "secure"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"twat_cache: {flag} must be True or False")
        if self.preferred_engine is not None:
            if not isinstance(self.preferred_engine, str):
                raise TypeError("twat_cache: preferred_engine must be a str or None")
            if self.preferred_engine.lower() not in _ENGINES:
                raise ValueError(f"twat_cache: unknown preferred_engine {self.preferred_engine!r}; valid names: {', '.join(_ENGINES)}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as keyword arguments for a decorator or ``CacheContext``."""
        return dataclasses.asdict(self)


def create_cache_config(**settings: Any) -> CacheConfig:
    """A validated ``CacheConfig``; an unknown setting is a ``TypeError`` naming it."""
    fields = {field.name for field in dataclasses.fields(CacheConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise TypeError(f"twat_cache: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(fields))}")
    return CacheConfig(**settings)
