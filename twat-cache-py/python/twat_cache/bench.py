"""``python -m twat_cache.bench``: twat_cache's decorators against the Python caches a
user would otherwise pick, every contender in one run, ratios printed.

Each row times a cache hit (the cache is warmed first) as the median over ``--repeat``
rounds of the mean time per call; the rounds of one group's contenders alternate, so
load on a shared machine falls on all of them. The peers come from PyPI and are needed only here:
``pip install cachebox cachetools diskcache joblib aiocache numpy``. A peer that is not
installed is reported as skipped.

Targets (ours ÷ peer): ``@mcache`` < 1.0 against cachebox's and cachetools'
``@cached``; ``@bcache`` ≤ 1/20 of diskcache's ``memoize``; ``@fcache`` ≤ 1/20 of
``joblib.Memory`` for a small value and ≤ 1/3 for a 1 MiB NumPy array; ``@acache``
≤ 1/10 of aiocache's ``@cached``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time
import warnings
from typing import Any, Callable, Optional

KEYS = [(i, f"user-{i}") for i in range(64)]


def _round(call: Callable[[int, str], Any], calls: int) -> float:
    """Mean seconds per call over one round of ``calls`` calls."""
    keys = KEYS
    start = time.perf_counter()
    for index in range(calls):
        a, b = keys[index & 63]
        call(a, b)
    return (time.perf_counter() - start) / calls


def _async_round(call: Callable[[int, str], Any], calls: int) -> float:
    async def one_round() -> float:
        start = time.perf_counter()
        for index in range(calls):
            a, b = KEYS[index & 63]
            await call(a, b)
        return (time.perf_counter() - start) / calls

    return asyncio.run(one_round())


def _compare(
    contenders: list[tuple[str, Callable[[int, str], Any]]],
    calls: int,
    repeat: int,
    one_round: Callable[[Callable[[int, str], Any], int], float] = _round,
) -> dict[str, float]:
    """The median over ``repeat`` rounds of each contender's mean time per call. Rounds
    alternate between the contenders, so a burst of load on the shared machine hits
    all of them rather than one."""
    rounds: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _ in range(repeat):
        for name, call in contenders:
            rounds[name].append(one_round(call, calls))
    return {name: statistics.median(times) for name, times in rounds.items()}


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _value(a: int, b: str) -> str:
    return f"{b}:{a * 7}"


class Report:
    """Collects timings and prints them with ratios against each row's baselines."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, Optional[float]]] = []
        self.ratios: list[tuple[str, str, str, float, str]] = []

    def add(self, group: str, contender: str, seconds: Optional[float]) -> None:
        self.rows.append((group, contender, seconds))
        shown = "skipped (not installed)" if seconds is None else f"{seconds * 1e6:10.3f} µs"
        print(f"  {group:<34} {contender:<34} {shown}", flush=True)

    def ratio(self, group: str, ours: str, peer: str, target: str) -> None:
        times = {c: s for g, c, s in self.rows if g == group}
        ours_time, peer_time = times.get(ours), times.get(peer)
        if ours_time is None or peer_time is None:
            print(f"  ratio {ours} ÷ {peer}: skipped")
            return
        ratio = ours_time / peer_time
        print(f"  ratio {ours} ÷ {peer}: {ratio:.3f}  (target {target})", flush=True)
        self.ratios.append((group, ours, peer, ratio, target))


def bench_memory(report: Report, calls: int, repeat: int) -> None:
    from twat_cache import mcache

    group = "memory hit (int, str) -> str"

    @mcache(maxsize=1024)
    def ours(a: int, b: str) -> str:
        return _value(a, b)

    contenders: list[tuple[str, Callable[[int, str], Any]]] = [("twat_cache @mcache", ours)]
    import functools

    contenders.append(("functools.lru_cache", functools.lru_cache(maxsize=1024)(_value)))
    if _have("cachebox"):
        import cachebox

        contenders.append(("cachebox @cached(LRUCache)", cachebox.cached(cachebox.LRUCache(1024))(_value)))
    if _have("cachetools"):
        import cachetools

        contenders.append(("cachetools @cached(LRUCache)", cachetools.cached(cachetools.LRUCache(1024))(_value)))
    for _, function in contenders:
        for a, b in KEYS:
            function(a, b)
    for name, seconds in _compare(contenders, calls, repeat).items():
        report.add(group, name, seconds)
    for peer in ("cachebox", "cachetools"):
        if not _have(peer):
            report.add(group, f"{peer} @cached(LRUCache)", None)
    report.ratio(group, "twat_cache @mcache", "cachebox @cached(LRUCache)", "< 1.0")
    report.ratio(group, "twat_cache @mcache", "cachetools @cached(LRUCache)", "< 1.0")
    report.ratio(group, "twat_cache @mcache", "functools.lru_cache", "(reference)")


def bench_disk(report: Report, root: str, calls: int, repeat: int) -> None:
    from twat_cache import bcache

    group = "disk hit (int, str) -> str"

    @bcache(folder_name="bench_bcache")
    def ours(a: int, b: str) -> str:
        return _value(a, b)

    contenders: list[tuple[str, Callable[[int, str], Any]]] = [("twat_cache @bcache", ours)]
    if _have("diskcache"):
        import diskcache  # type: ignore[import-untyped]

        cache = diskcache.Cache(os.path.join(root, "diskcache"))
        contenders.append(("diskcache memoize", cache.memoize()(_value)))
    else:
        report.add(group, "diskcache memoize", None)
    for _, function in contenders:
        for a, b in KEYS:
            function(a, b)
    for name, seconds in _compare(contenders, calls, repeat).items():
        report.add(group, name, seconds)
    report.ratio(group, "twat_cache @bcache", "diskcache memoize", "<= 0.05 (20x)")


def _on_eight_keys(function: Callable[[int, str], Any]) -> Callable[[int, str], Any]:
    def call(a: int, b: str) -> Any:
        return function(a & 7, KEYS[a & 7][1])

    return call


def bench_file(report: Report, root: str, calls: int, repeat: int) -> None:
    from twat_cache import fcache

    have_numpy = _have("numpy")
    groups: list[tuple[str, Callable[[int, str], Any], int]] = [
        ("file hit, small value", _value, calls)
    ]
    if have_numpy:
        import numpy as np

        def array(a: int, b: str) -> Any:
            return np.full(131072, float(a))  # 1 MiB of float64

        groups.append(("file hit, 1 MiB NumPy array", array, max(calls // 20, 20)))
    for group, body, n in groups:
        ours = fcache(folder_name=f"bench_fcache_{len(group)}", name=f"bench.{group}")(body)
        contenders: list[tuple[str, Callable[[int, str], Any]]] = [("twat_cache @fcache", ours)]
        if _have("joblib"):
            import joblib  # type: ignore[import-untyped]

            memory = joblib.Memory(os.path.join(root, f"joblib_{len(group)}"), verbose=0)
            contenders.append(("joblib.Memory.cache", memory.cache(body)))
        else:
            report.add(group, "joblib.Memory.cache", None)
        for _, function in contenders:
            for a, b in KEYS[:8]:
                function(a, b)
        # Hits on 8 keys (the 1 MiB rows would otherwise store 64 MiB per contender).
        on_eight = [(name, _on_eight_keys(function)) for name, function in contenders]
        for name, seconds in _compare(on_eight, n, repeat).items():
            report.add(group, name, seconds)
        target = "<= 0.05 (20x)" if "small" in group else "<= 0.333 (3x)"
        report.ratio(group, "twat_cache @fcache", "joblib.Memory.cache", target)
    if not have_numpy:
        report.add("file hit, 1 MiB NumPy array", "(numpy not installed)", None)


def bench_async(report: Report, calls: int, repeat: int) -> None:
    from twat_cache import acache

    group = "async hit (int, str) -> str"

    async def body(a: int, b: str) -> str:
        return _value(a, b)

    contenders: list[tuple[str, Callable[[int, str], Any]]] = [("twat_cache @acache", acache(maxsize=1024)(body))]
    if _have("aiocache"):
        import aiocache  # type: ignore[import-untyped]

        contenders.append(("aiocache @cached", aiocache.cached()(body)))
    else:
        report.add(group, "aiocache @cached", None)
    for _, function in contenders:
        async def warm(f: Callable[[int, str], Any] = function) -> None:
            for a, b in KEYS:
                await f(a, b)

        asyncio.run(warm())
    for name, seconds in _compare(contenders, calls, repeat, _async_round).items():
        report.add(group, name, seconds)
    report.ratio(group, "twat_cache @acache", "aiocache @cached", "<= 0.1 (10x)")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twat_cache.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per round (default 20000)")
    parser.add_argument("--repeat", type=int, default=7, help="rounds per contender; the median is reported (default 7)")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.repeat < 1:
        parser.error("--calls and --repeat must be >= 1")
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="twat-cache-bench-") as root:
        os.environ["TWAT_CACHE_DIR"] = root
        print(f"python {sys.version.split()[0]}, {args.calls} calls x {args.repeat} rounds, cache root {root}")
        report = Report()
        bench_memory(report, args.calls, args.repeat)
        bench_disk(report, root, max(args.calls // 4, 100), args.repeat)
        bench_file(report, root, max(args.calls // 20, 100), args.repeat)
        bench_async(report, max(args.calls // 4, 100), args.repeat)
        print("\nsummary (ours ÷ peer; below 1 is faster):")
        for group, ours, peer, ratio, target in report.ratios:
            print(f"  {group:<34} {ours} ÷ {peer}: {ratio:.3f} (target {target})")
        from twat_cache import clear_cache

        clear_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
