"""The five decorators: ``mcache``, ``bcache``, ``fcache``, ``acache``, ``ucache``.

Each is usable bare (``@mcache``) or called (``@mcache(maxsize=128)``). The memory and
persistent callables are Rust objects (``twat_cache._native``); the classes here only add
what ``functools`` users expect: ``__wrapped__``/``__name__``/``__doc__``,
``cache_clear()``, ``cache_info()``, ``cache_parameters()`` and binding as a method.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import os
import types
import weakref
from collections import namedtuple
from typing import Any, Callable, Optional, Union

from twat_cache import _native

CacheInfo = namedtuple("CacheInfo", ["hits", "misses", "maxsize", "currsize"])
CacheInfo.__doc__ = "What ``cache_info()`` returns, as ``functools.lru_cache`` does."

_MISSING = object()

#: Persistent callables flushed at interpreter exit (buffered writes reach the disk).
_PERSISTENT: "weakref.WeakSet[Any]" = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for memo in list(_PERSISTENT):
        try:
            memo.flush()
        except Exception:  # noqa: BLE001 - a cache never makes a correct program fail
            pass


def _disabled() -> bool:
    return os.environ.get("TWAT_CACHE_DISABLE", "") not in ("", "0")


def _qualified_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if qualname is None:
        qualname = type(func).__name__
    return f"{module}.{qualname}"


def _arg_names(func: Callable[..., Any]) -> list[str]:
    code = getattr(inspect.unwrap(func), "__code__", None)
    if code is None:
        return []
    return list(code.co_varnames[: code.co_argcount])


def _check_callable(func: Any, decorator: str) -> None:
    if not callable(func):
        raise TypeError(
            f"twat_cache: @{decorator} decorates a function, got {type(func).__name__}; "
            f"write @{decorator} or @{decorator}(maxsize=..., ttl=...)"
        )


def _check_key(key: Any) -> None:
    if key is not None and not callable(key):
        raise TypeError(f"twat_cache: key must be a callable or None, not {type(key).__name__}")


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"twat_cache: {name} must be True or False, not {type(value).__name__}")
    return value


class _Bindable:
    """What every cached function adds to its cache: binding as a method (``obj.method``
    passes ``obj`` first), pickling by reference to the decorated function's name,
    ``cache_info()`` and ``cache_parameters()``, as ``functools.lru_cache`` does."""

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return types.MethodType(self, instance)

    def __reduce__(self) -> str:
        return self.__qualname__  # type: ignore[attr-defined, no-any-return]

    def cache_info(self) -> CacheInfo:
        """Hits, misses, maxsize and current size, like ``functools.lru_cache``."""
        stats = self.stats()  # type: ignore[attr-defined]
        return CacheInfo(stats["hits"], stats["misses"], stats["maxsize"], stats["size"])

    def cache_parameters(self) -> dict[str, Any]:
        """The arguments the cache was built with."""
        return dict(self._parameters)  # type: ignore[attr-defined]


class MemoryCached(_native.MemoryMemo, _Bindable):
    """A function memoized in memory (what ``@mcache`` returns)."""

    def __repr__(self) -> str:
        return f"<mcache {self.name}>"


class PersistentCached(_native.PersistentMemo, _Bindable):
    """A function memoized on disk or in files (what ``@bcache``/``@fcache`` return);
    ``cache_info().maxsize`` is in bytes, ``currsize`` in entries."""

    def __repr__(self) -> str:
        return f"<{self._parameters['engine']} cache {self.name}>"


def _finish(wrapper: Any, func: Callable[..., Any], parameters: dict[str, Any]) -> Any:
    functools.update_wrapper(wrapper, func)
    wrapper._parameters = parameters
    return wrapper


def _memory(func: Callable[..., Any], *, maxsize: Any, ttl: Any, policy: Any, key: Any,
            name: Optional[str]) -> Any:
    if policy is not None and not isinstance(policy, str):
        raise TypeError(f"twat_cache: policy must be a str such as 'lru', not {type(policy).__name__}")
    cache_name = name or _qualified_name(func)
    wrapper = MemoryCached(func, cache_name, maxsize, ttl, policy, key, _arg_names(func), _MISSING)
    return _finish(wrapper, func, {"maxsize": maxsize, "ttl": ttl, "policy": policy or "lru",
                                   "name": cache_name})


def _persistent(func: Callable[..., Any], engine: str, *, folder_name: Any, maxsize: Any, ttl: Any,
                compress: bool, secure: bool, key: Any, name: Optional[str]) -> Any:
    if folder_name is not None and not isinstance(folder_name, (str, os.PathLike)):
        raise TypeError(f"twat_cache: folder_name must be a str or None, not {type(folder_name).__name__}")
    folder = os.fspath(folder_name) if folder_name is not None else None
    cache_name = name or _qualified_name(func)
    wrapper = PersistentCached(func, cache_name, engine, folder, maxsize, ttl, compress, secure, key,
                               _arg_names(func))
    _PERSISTENT.add(wrapper)
    return _finish(wrapper, func, {"engine": engine, "folder_name": folder, "maxsize": maxsize,
                                   "ttl": ttl, "compress": compress, "name": cache_name})


def _decorator(build: Callable[[Callable[..., Any]], Any], func: Any, name: str) -> Any:
    def decorate(target: Any) -> Any:
        _check_callable(target, name)
        if _disabled():
            return target
        return build(target)

    if func is None:
        return decorate
    return decorate(func)


def mcache(func: Any = None, /, *, maxsize: Optional[int] = None, ttl: Any = None,
           policy: str = "lru", secure: bool = True, key: Optional[Callable[..., Any]] = None,
           name: Optional[str] = None) -> Any:
    """Memoize in memory.

    ``maxsize`` entries (``None``: unbounded), ``ttl`` seconds (or ``"90s"``), ``policy``
    one of ``"lru"``, ``"lfu"``, ``"fifo"``, ``"rr"``, ``"tinylfu"``, ``"ttl"``. Keys are
    the arguments' hash and equality (unhashable arguments: their encoding); the cached
    object itself is returned on a hit. ``secure`` is accepted for compatibility (memory
    caches write no files).
    """
    _check_flag(secure, "secure")
    _check_key(key)
    return _decorator(lambda f: _memory(f, maxsize=maxsize, ttl=ttl, policy=policy, key=key,
                                        name=name), func, "mcache")


def bcache(func: Any = None, /, *, folder_name: Optional[str] = None, maxsize: Any = None,
           ttl: Any = None, policy: Optional[str] = None, use_sql: bool = False,
           secure: bool = True, key: Optional[Callable[..., Any]] = None,
           name: Optional[str] = None) -> Any:
    """Memoize on disk (the fjall engine) under ``<cache root>/<folder_name>``.

    Results survive restarts. ``maxsize`` is bytes on disk (an int or ``"512 MiB"``).
    ``policy`` and ``use_sql`` are accepted for compatibility: the disk engine evicts the
    least recently stored entries when over ``maxsize``.
    """
    _check_flag(secure, "secure")
    _check_flag(use_sql, "use_sql")
    _check_key(key)
    if policy is not None and not isinstance(policy, str):
        raise TypeError(f"twat_cache: policy must be a str or None, not {type(policy).__name__}")
    return _decorator(lambda f: _persistent(f, "disk", folder_name=folder_name, maxsize=maxsize,
                                            ttl=ttl, compress=False, secure=secure, key=key,
                                            name=name), func, "bcache")


def fcache(func: Any = None, /, *, folder_name: Optional[str] = None, maxsize: Any = None,
           ttl: Any = None, compress: bool = False, secure: bool = True,
           key: Optional[Callable[..., Any]] = None, name: Optional[str] = None) -> Any:
    """Memoize in content-addressed files (the file engine): for large values.

    ``compress=True`` stores zstd-compressed files. Values are pickled with protocol 5
    and out-of-band buffers, so a NumPy array's data is copied once on each side.
    """
    _check_flag(compress, "compress")
    _check_flag(secure, "secure")
    _check_key(key)
    return _decorator(lambda f: _persistent(f, "file", folder_name=folder_name, maxsize=maxsize,
                                            ttl=ttl, compress=compress, secure=secure, key=key,
                                            name=name), func, "fcache")


class AsyncCached(_Bindable):
    """An ``async def`` memoized in memory (what ``@acache`` returns).

    Concurrent awaiters of one missing key in one event loop share one computation;
    an exception reaches every awaiter of that computation and is not cached.
    """

    def __init__(self, func: Callable[..., Any], memo: Any, parameters: dict[str, Any]) -> None:
        self._func = func
        self._memo = memo
        self._parameters = parameters
        self._in_flight: dict[tuple[int, Any], asyncio.Future[Any]] = {}
        functools.update_wrapper(self, func)
        # inspect.iscoroutinefunction(wrapper) stays true, as for the function itself.
        if hasattr(inspect, "markcoroutinefunction"):
            inspect.markcoroutinefunction(self)
        else:  # Python 3.10, 3.11
            self._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        memo = self._memo
        key = memo.make_key(args, kwargs)
        value = memo.lookup(key)
        if value is not _MISSING:
            return value
        loop = asyncio.get_running_loop()
        flight_key = (id(loop), key)
        while True:
            pending = self._in_flight.get(flight_key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this awaiter itself was cancelled
                # The leader was cancelled: try again (maybe as the leader).
            value = memo.lookup(key)
            if value is not _MISSING:
                return value
        future: asyncio.Future[Any] = loop.create_future()
        self._in_flight[flight_key] = future
        try:
            value = await self._func(*args, **kwargs)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            # Awaited by the waiters, if any; never "exception was never retrieved".
            future.exception()
            raise
        else:
            memo.store(key, value)
            future.set_result(value)
            return value
        finally:
            self._in_flight.pop(flight_key, None)

    def cache_clear(self) -> None:
        """Empties the cache."""
        self._memo.cache_clear()

    def stats(self) -> dict[str, Any]:
        """The cache's statistics as a dict."""
        return self._memo.stats()

    @property
    def name(self) -> str:
        """The name the cache is registered under."""
        return self._memo.name

    def __repr__(self) -> str:
        return f"<acache {self.name}>"


def acache(func: Any = None, /, *, maxsize: Optional[int] = None, ttl: Any = None,
           policy: str = "lru", key: Optional[Callable[..., Any]] = None,
           name: Optional[str] = None) -> Any:
    """Memoize an ``async def`` in memory: the awaited result is cached, and concurrent
    awaiters of one missing key run the coroutine once."""
    _check_key(key)

    def build(f: Callable[..., Any]) -> Any:
        if not inspect.iscoroutinefunction(f):
            raise TypeError(
                f"twat_cache: @acache decorates an async def; {_qualified_name(f)} is not "
                "a coroutine function (use @mcache for a plain function)"
            )
        cache_name = name or _qualified_name(f)
        memo = _native.MemoryMemo(f, cache_name, maxsize, ttl, policy, key, _arg_names(f), _MISSING)
        return AsyncCached(f, memo, {"maxsize": maxsize, "ttl": ttl, "policy": policy,
                                     "name": cache_name})

    return _decorator(build, func, "acache")


_PREFERRED = {
    "memory": "memory", "cachetools": "memory", "cachebox": "memory", "functools": "memory",
    "disk": "disk", "diskcache": "disk", "sql": "disk",
    "file": "file", "joblib": "file",
    "async": "async", "aiocache": "async",
}


def ucache(func: Any = None, /, *, folder_name: Optional[str] = None, maxsize: Any = None,
           ttl: Any = None, policy: Optional[str] = None, compress: bool = False,
           secure: bool = True, use_sql: bool = False, preferred_engine: Optional[str] = None,
           key: Optional[Callable[..., Any]] = None, name: Optional[str] = None) -> Any:
    """Pick the engine as the Rust facade's ``#[ucache]`` does.

    ``async def`` → ``acache``; ``folder_name`` given → ``fcache`` when ``compress`` else
    ``bcache``; otherwise ``mcache``. ``preferred_engine`` (``"memory"``, ``"disk"``,
    ``"file"``, ``"async"`` or a Python backend name such as ``"diskcache"``) overrides
    the pick; an ``async def`` always gets the async engine.
    """
    if preferred_engine is not None:
        if not isinstance(preferred_engine, str):
            raise TypeError("twat_cache: preferred_engine must be a str or None")
        if preferred_engine.lower() not in _PREFERRED:
            valid = ", ".join(repr(n) for n in _PREFERRED)
            raise ValueError(f"twat_cache: unknown preferred_engine {preferred_engine!r}; valid names: {valid}")
    _check_flag(compress, "compress")
    _check_flag(use_sql, "use_sql")

    def build(f: Callable[..., Any]) -> Any:
        if inspect.iscoroutinefunction(f):
            return acache(f, maxsize=maxsize, ttl=ttl, policy=policy or "lru", key=key, name=name)
        engine = _PREFERRED.get((preferred_engine or "").lower())
        if engine is None or engine == "async":
            engine = ("file" if compress else "disk") if folder_name is not None else "memory"
        if engine == "memory":
            return mcache(f, maxsize=maxsize, ttl=ttl, policy=policy or "lru", secure=secure,
                          key=key, name=name)
        if engine == "disk":
            return bcache(f, folder_name=folder_name, maxsize=maxsize, ttl=ttl, policy=policy,
                          secure=secure, key=key, name=name)
        return fcache(f, folder_name=folder_name, maxsize=maxsize, ttl=ttl, compress=compress,
                      secure=secure, key=key, name=name)

    return _decorator(build, func, "ucache")


CachedFunction = Union[MemoryCached, PersistentCached, AsyncCached]
