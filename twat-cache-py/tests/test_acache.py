"""@acache: awaited results cached, single-flight in one event loop, errors not cached."""

import asyncio
import inspect

import pytest

from twat_cache import acache, get_stats, ucache


def test_fetch_external_data_shape():
    calls = []

    @acache(ttl=300)
    async def fetch_external_data(url: str) -> dict:
        calls.append(url)
        await asyncio.sleep(0)
        return {"url": url}

    async def main():
        first = await fetch_external_data("https://example.com")
        second = await fetch_external_data("https://example.com")
        return first, second

    first, second = asyncio.run(main())
    assert first == second == {"url": "https://example.com"}
    assert calls == ["https://example.com"]
    assert fetch_external_data.__name__ == "fetch_external_data"
    assert inspect.iscoroutinefunction(fetch_external_data.__wrapped__)


def test_concurrent_awaiters_share_one_computation():
    calls = []

    @acache
    async def slow(x):
        calls.append(x)
        await asyncio.sleep(0.05)
        return x * 2

    async def main():
        return await asyncio.gather(*(slow(21) for _ in range(50)))

    assert asyncio.run(main()) == [42] * 50
    assert calls == [21]


def test_an_exception_reaches_every_awaiter_and_is_not_cached():
    calls = []

    @acache
    async def failing(x):
        calls.append(x)
        await asyncio.sleep(0.01)
        if len(calls) == 1:
            raise ValueError("upstream down")
        return x

    async def main():
        results = await asyncio.gather(*(failing(1) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, ValueError) for r in results)
        return await failing(1)

    assert asyncio.run(main()) == 1
    assert len(calls) == 2


def test_a_cancelled_leader_lets_a_waiter_compute():
    calls = []

    @acache
    async def slow(x):
        calls.append(x)
        await asyncio.sleep(0.05)
        return x

    async def main():
        leader = asyncio.ensure_future(slow(1))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(slow(1))
        await asyncio.sleep(0.01)
        leader.cancel()
        return await waiter

    assert asyncio.run(main()) == 1
    assert len(calls) == 2


def test_acache_refuses_plain_functions_and_ucache_picks_async():
    with pytest.raises(TypeError, match="async def"):
        acache(lambda: 1)

    @ucache(ttl=10)
    async def picked(x):
        return x

    assert asyncio.run(picked(3)) == 3
    assert get_stats(picked.name)["misses"] == 1


def test_cache_info_and_clear():
    @acache(maxsize=8)
    async def ident(x):
        return x

    async def main():
        for i in range(3):
            await ident(i)
            await ident(i)

    asyncio.run(main())
    info = ident.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (3, 3, 8, 3)
    ident.cache_clear()
    assert ident.cache_info().currsize == 0
