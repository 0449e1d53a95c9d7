"""@mcache: call shapes, keys, policies, TTL, errors, threads."""

import dataclasses
import enum
import functools
import threading
import time

import pytest

from twat_cache import get_stats, mcache


def test_bare_and_called_forms_keep_the_function_metadata():
    @mcache
    def bare(x):
        """Bare doc."""
        return x * 2

    @mcache(maxsize=128, ttl=60)
    def get_user_details(user_id: int) -> dict:
        """Called doc."""
        return {"id": user_id}

    assert bare(2) == 4 and get_user_details(7) == {"id": 7}
    assert bare.__name__ == "bare" and bare.__doc__ == "Bare doc."
    assert get_user_details.__wrapped__.__name__ == "get_user_details"
    assert get_user_details.__doc__ == "Called doc."
    assert get_user_details.__annotations__ == {"user_id": int, "return": dict}


def test_a_hit_returns_the_same_object_and_counts():
    calls = []

    @mcache(maxsize=128)
    def details(user_id):
        calls.append(user_id)
        return {"id": user_id}

    first = details(1)
    assert details(1) is first
    assert calls == [1]
    info = details.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (1, 1, 128, 1)
    details.cache_clear()
    assert details(1) == first and calls == [1, 1]


def test_keyword_order_does_not_matter():
    calls = []

    @mcache
    def area(*, width, height):
        calls.append((width, height))
        return width * height

    assert area(width=2, height=3) == area(height=3, width=2) == 6
    assert len(calls) == 1


def test_unhashable_arguments_are_keyed_by_their_encoding():
    calls = []

    @mcache
    def total(values, weights=None):
        calls.append(1)
        return sum(values) + sum((weights or {}).values())

    assert total([1, 2, 3], weights={"a": 1, "b": 2}) == 9
    assert total([1, 2, 3], weights={"b": 2, "a": 1}) == 9
    assert total([1, 2, 3]) == 6
    assert len(calls) == 2


def test_hashable_objects_with_python_equality_are_encoded_or_refused():
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int

    class Color(enum.Enum):
        RED = 1

    class Opaque:
        def __eq__(self, other):
            return True

        def __hash__(self):
            return 1

    calls = []

    @mcache
    def describe(value):
        calls.append(value)
        return repr(value)

    describe(Point(1, 2))
    describe(Point(1, 2))
    describe(Color.RED)
    describe(Color.RED)
    assert len(calls) == 2
    with pytest.raises(TypeError, match=r"argument 'value' of .*describe\(\).*key=callable"):
        describe(Opaque())


def test_identity_objects_are_keys():
    class Plain:
        pass

    calls = []

    @mcache
    def ident(obj):
        calls.append(obj)
        return id(obj)

    one, two = Plain(), Plain()
    ident(one), ident(one), ident(two)
    assert len(calls) == 2


def test_key_callable():
    @mcache(key=lambda conn, item_id: item_id)
    def lookup(conn, item_id):
        return (conn, item_id)

    assert lookup(object(), 5)[1] == 5
    assert lookup(object(), 5)[1] == 5
    assert lookup.cache_info().hits == 1


def test_errors_are_not_cached():
    calls = []

    @mcache
    def flaky(x):
        calls.append(x)
        if len(calls) == 1:
            raise ValueError("first call fails")
        return x

    with pytest.raises(ValueError, match="first call fails"):
        flaky(1)
    assert flaky(1) == 1
    assert flaky(1) == 1
    assert calls == [1, 1]


def test_ttl_expires_entries():
    calls = []

    @mcache(ttl=0.2)
    def stamp(x):
        calls.append(x)
        return len(calls)

    assert stamp(1) == stamp(1) == 1
    time.sleep(0.35)
    assert stamp(1) == 2


@pytest.mark.parametrize(
    ("policy", "survivor", "evicted"),
    [("lru", 1, 2), ("fifo", 2, 1), ("lfu", 1, 2)],
)
def test_policies_evict_as_named(policy, survivor, evicted):
    @mcache(maxsize=2, policy=policy)
    def square(x):
        return x * x

    square(1)
    square(2)
    square(1)  # a hit: recent for LRU, frequent for LFU, irrelevant for FIFO
    square(3)  # full: evicts one
    hits = square.cache_info().hits
    square(survivor)
    assert square.cache_info().hits == hits + 1
    misses = square.cache_info().misses
    square(evicted)
    assert square.cache_info().misses == misses + 1


@pytest.mark.parametrize("policy", ["rr", "tinylfu", "ttl", "unbounded", "LRU"])
def test_every_policy_name_is_accepted(policy):
    @mcache(maxsize=4, policy=policy, ttl=60)
    def ident(x):
        return x

    assert [ident(i) for i in range(10)] == list(range(10))
    assert ident.cache_info().currsize <= (10 if policy == "unbounded" else 4)


def test_methods_bind_self():
    class Box:
        def __init__(self, n):
            self.n = n

        @mcache
        def scaled(self, k):
            return self.n * k

    box = Box(3)
    assert box.scaled(2) == 6 and box.scaled(2) == 6
    assert Box.scaled.cache_info().hits == 1


def test_eight_threads_share_one_cache():
    calls = []
    lock = threading.Lock()

    @mcache(maxsize=1000)
    def work(x):
        with lock:
            calls.append(x)
        return x * x

    results = []

    def run():
        results.append([work(i % 50) for i in range(2000)])

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [i % 50 * (i % 50) for i in range(2000)]
    assert all(r == expected for r in results)
    # Concurrent misses may each compute (as functools), but never more than once per thread.
    assert 50 <= len(calls) <= 50 * 8
    info = work.cache_info()
    assert info.hits + info.misses == 16000 and info.currsize == 50


def test_stats_by_name_and_custom_name():
    @mcache(name="lookup")
    def lookup(x):
        return x

    lookup(1), lookup(1), lookup(2)
    stats = get_stats("lookup")
    assert stats["hits"] == 1 and stats["misses"] == 2 and stats["size"] == 2
    assert get_stats("no-such-cache") is None


def test_disable_environment_variable(monkeypatch):
    monkeypatch.setenv("TWAT_CACHE_DISABLE", "1")

    def plain(x):
        return x

    assert mcache(plain) is plain


def test_recursion_works():
    @mcache
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(90) == 2880067194370816120
    assert fib.cache_info().misses == 91


def test_matches_functools_results():
    reference = functools.lru_cache(maxsize=None)(lambda a, b=1: (a, b))
    ours = mcache(lambda a, b=1: (a, b))
    for args in [(1,), (1, 2), ("x",), ((1, 2), None)]:
        assert ours(*args) == reference(*args)


@mcache
def module_level(x):
    return x + 1


def test_decorated_functions_pickle_by_name():
    import pickle

    assert pickle.loads(pickle.dumps(module_level)) is module_level


def test_a_self_containing_argument_is_a_type_error():
    @mcache
    def size(value):
        return len(value)

    loop = []
    loop.append(loop)
    with pytest.raises(TypeError, match="nested too deeply"):
        size(loop)


def test_namedtuples_are_keys_and_their_items_are_checked():
    import collections

    Pair = collections.namedtuple("Pair", "left right")

    @dataclasses.dataclass(frozen=True)
    class Tag:
        name: str

    calls = []

    @mcache
    def join(pair):
        calls.append(pair)
        return f"{pair.left}{pair.right}"

    assert join(Pair(1, 2)) == join(Pair(1, 2)) == "12"
    # A dataclass item compares with Python code: keyed on the encoding instead.
    assert join(Pair(Tag("a"), 2)) == join(Pair(Tag("a"), 2))
    assert len(calls) == 2
