"""Type stubs of the decorators: a decorated function keeps its signature."""

from typing import Any, Awaitable, Callable, Coroutine, Generic, NamedTuple, Optional, TypeVar, Union, overload

from typing import ParamSpec

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Size = Union[int, str, None]
_Ttl = Union[int, float, str, None]
_Key = Optional[Callable[..., Any]]

class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: Optional[int]
    currsize: int

class _CacheHandle:
    __name__: str
    __qualname__: str
    __doc__: Optional[str]
    def __get__(self, instance: Any, owner: Any = None) -> Any: ...
    def cache_clear(self) -> None: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_parameters(self) -> dict[str, Any]: ...
    def stats(self) -> dict[str, Any]: ...
    @property
    def name(self) -> str: ...

class _Cached(_CacheHandle, Generic[_P, _R]):
    __wrapped__: Callable[_P, _R]
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...

class MemoryCached(_Cached[_P, _R]): ...

class PersistentCached(_Cached[_P, _R]):
    def flush(self) -> None: ...

class AsyncCached(_CacheHandle, Generic[_P, _R]):
    __wrapped__: Callable[_P, Awaitable[_R]]
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Coroutine[Any, Any, _R]: ...

CachedFunction = Union[MemoryCached[Any, Any], PersistentCached[Any, Any], AsyncCached[Any, Any]]

@overload
def mcache(func: Callable[_P, _R], /) -> MemoryCached[_P, _R]: ...
@overload
def mcache(
    *, maxsize: Optional[int] = None, ttl: _Ttl = None, policy: str = "lru", secure: bool = True,
    key: _Key = None, name: Optional[str] = None,
) -> Callable[[Callable[_P, _R]], MemoryCached[_P, _R]]: ...
@overload
def bcache(func: Callable[_P, _R], /) -> PersistentCached[_P, _R]: ...
@overload
def bcache(
    *, folder_name: Optional[str] = None, maxsize: _Size = None, ttl: _Ttl = None,
    policy: Optional[str] = None, use_sql: bool = False, secure: bool = True, key: _Key = None,
    name: Optional[str] = None,
) -> Callable[[Callable[_P, _R]], PersistentCached[_P, _R]]: ...
@overload
def fcache(func: Callable[_P, _R], /) -> PersistentCached[_P, _R]: ...
@overload
def fcache(
    *, folder_name: Optional[str] = None, maxsize: _Size = None, ttl: _Ttl = None,
    compress: bool = False, secure: bool = True, key: _Key = None, name: Optional[str] = None,
) -> Callable[[Callable[_P, _R]], PersistentCached[_P, _R]]: ...
@overload
def acache(func: Callable[_P, Awaitable[_R]], /) -> AsyncCached[_P, _R]: ...
@overload
def acache(
    *, maxsize: Optional[int] = None, ttl: _Ttl = None, policy: str = "lru", key: _Key = None,
    name: Optional[str] = None,
) -> Callable[[Callable[_P, Awaitable[_R]]], AsyncCached[_P, _R]]: ...
@overload
def ucache(func: Callable[_P, _R], /) -> _Cached[_P, _R]: ...
@overload
def ucache(
    *, folder_name: Optional[str] = None, maxsize: _Size = None, ttl: _Ttl = None,
    policy: Optional[str] = None, compress: bool = False, secure: bool = True,
    use_sql: bool = False, preferred_engine: Optional[str] = None, key: _Key = None,
    name: Optional[str] = None,
) -> Callable[[Callable[_P, _R]], _Cached[_P, _R]]: ...
