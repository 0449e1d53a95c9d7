"""@bcache and @fcache: persistence across interpreters, keys, TTL, errors, corrupt entries."""

import dataclasses
import enum
import os
import subprocess
import sys
import textwrap
import time

import pytest

from twat_cache import bcache, clear_cache, fcache, get_stats

CHILD = textwrap.dedent(
    """
    import sys
    from twat_cache import bcache, fcache, get_stats

    calls = []

    @bcache(folder_name="user_data_cache", ttl=3600)
    def get_report_data(report_id: str) -> list:
        calls.append(report_id)
        return [{"id": report_id, "rows": [1, 2, 3]}]

    @fcache(folder_name="array_processing_cache", compress=True)
    def process_large_array(size: int):
        import numpy as np
        calls.append(size)
        return np.arange(size * size, dtype=float).reshape(size, size)

    assert get_report_data("q3") == [{"id": "q3", "rows": [1, 2, 3]}]
    print(len(calls))
    if sys.argv[1] == "numpy":
        array = process_large_array(64)
        assert array.shape == (64, 64) and array[63, 63] == 64 * 64 - 1
        array[0, 0] = -1.0  # writable
        print(len(calls))
    """
)


def run_child(mode):
    output = subprocess.run(
        [sys.executable, "-c", CHILD, mode], check=True, capture_output=True, text=True,
        env=dict(os.environ),
    ).stdout.split()
    return [int(n) for n in output]


def test_results_survive_the_interpreter():
    try:
        import numpy  # noqa: F401

        mode, first, second = "numpy", [1, 2], [0, 0]
    except ImportError:
        mode, first, second = "plain", [1], [0]
    assert run_child(mode) == first  # the first process computes
    assert run_child(mode) == second  # the second reads from disk


def test_bcache_hits_and_counts(cache_root):
    calls = []

    @bcache(folder_name="reports")
    def report(report_id, *, region="eu"):
        calls.append(report_id)
        return {"id": report_id, "region": region}

    assert report("a") == report("a") == {"id": "a", "region": "eu"}
    assert report("a", region="us")["region"] == "us"
    assert len(calls) == 2
    info = report.cache_info()
    assert (info.hits, info.misses) == (1, 2)
    assert (cache_root / "reports").is_dir()


def test_persistent_keys_cover_the_documented_types():
    class Level(enum.Enum):
        LOW = 1

    @dataclasses.dataclass
    class Query:
        text: str
        limit: int = 10

    calls = []

    @bcache(folder_name="typed_keys")
    def run(value):
        calls.append(1)
        return repr(value)

    values = [None, True, 3, 2**100, -0.0, "s", b"b", (1, "x"), [1, [2]], {"b": 1, "a": 2},
              {3, 1, 2}, frozenset({"x"}), Query("q"), Level.LOW]
    for value in values:
        run(value)
    for value in values:
        run(value)
    assert len(calls) == len(values)
    run(0.0)  # -0.0 == 0.0: the same key
    run({"a": 2, "b": 1})  # dict order does not matter
    assert len(calls) == len(values)


def test_unencodable_argument_raises_type_error_naming_it():
    @bcache
    def store(handle, count):
        return count

    with pytest.raises(TypeError, match=r"argument 'handle' of .*store\(\) \(a object\).*key=callable"):
        store(object(), 1)
    with pytest.raises(TypeError, match=r"keyword argument 'count'"):
        store(1, count=object())
    with pytest.raises(TypeError, match=r"at \[1\]"):
        store([1, object()], 1)


def test_key_callable_for_persistent_caches():
    @bcache(key=lambda conn, item_id: item_id)
    def fetch(conn, item_id):
        return item_id * 10

    assert fetch(object(), 2) == fetch(object(), 2) == 20
    assert fetch.cache_info().hits == 1


def test_errors_are_not_stored():
    calls = []

    @fcache(folder_name="flaky")
    def flaky(x):
        calls.append(x)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return x

    with pytest.raises(RuntimeError):
        flaky(1)
    assert flaky(1) == flaky(1) == 1
    assert len(calls) == 2


def test_unpicklable_results_are_returned_not_stored():
    @bcache(folder_name="unpicklable")
    def make(x):
        return lambda: x

    assert make(1)() == 1
    assert make(1)() == 1
    assert make.cache_info().hits == 0


def test_ttl_on_disk():
    calls = []

    @bcache(folder_name="ttl_disk", ttl=0.3)
    def stamp(x):
        calls.append(x)
        return len(calls)

    assert stamp(1) == stamp(1) == 1
    time.sleep(0.5)
    assert stamp(1) == 2


@pytest.mark.parametrize("compress", [False, True])
def test_fcache_large_bytes_and_compression(compress):
    @fcache(folder_name=f"blobs_{compress}", compress=compress)
    def blob(n):
        return b"x" * n

    assert blob(1 << 20) == blob(1 << 20)
    assert blob.cache_info().hits == 1


def test_clear_cache_by_name_empties_disk():
    @bcache(folder_name="clearable", name="clearable")
    def value(x):
        return x

    value(1), value(2)
    assert get_stats("clearable")["size"] == 2
    clear_cache("clearable")
    assert get_stats("clearable")["size"] == 0
    value(1)
    assert value.cache_info().misses == 1


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="folder"):
        bcache(folder_name="../escape")(lambda: 1)
    with pytest.raises(TypeError, match="maxsize"):
        bcache(maxsize=[1])(lambda: 1)
    with pytest.raises(ValueError):
        fcache(maxsize="lots")(lambda: 1)
    with pytest.raises(TypeError, match="compress"):
        fcache(compress="yes")(lambda: 1)
    with pytest.raises(ValueError, match="ttl"):
        bcache(ttl=-1)(lambda: 1)
    with pytest.raises(TypeError, match="decorates a function"):
        bcache(5)


UNPICKLE_CHILD = textwrap.dedent(
    """
    import sys
    from twat_cache import bcache

    if sys.argv[1] == "define":
        class Payload:
            def __init__(self, n):
                self.n = n
    calls = []

    @bcache(folder_name="class_changes", key=lambda n: n)
    def make(n):
        calls.append(n)
        return Payload(n) if sys.argv[1] == "define" else n

    result = make(1)
    print(len(calls), getattr(result, "n", result))
    """
)


def test_an_entry_that_no_longer_unpickles_is_a_miss():
    def run(mode):
        return subprocess.run([sys.executable, "-c", UNPICKLE_CHILD, mode], check=True,
                              capture_output=True, text=True, env=dict(os.environ)).stdout.split()

    assert run("define") == ["1", "1"]
    assert run("define") == ["0", "1"]
    # __main__.Payload no longer exists: the stored pickle cannot load, so it is a miss.
    assert run("gone") == ["1", "1"]
    assert run("gone") == ["0", "1"]


def test_truncated_files_are_misses(cache_root):
    calls = []

    @fcache(folder_name="damaged")
    def blob(n):
        calls.append(n)
        return bytes(range(256)) * n

    assert blob(64) == bytes(range(256)) * 64
    blob.flush()
    damaged = 0
    for folder, _, files in os.walk(cache_root / "damaged"):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.getsize(path) > 1000:
                with open(path, "r+b") as handle:
                    handle.truncate(100)
                damaged += 1
    assert damaged >= 1
    assert blob(64) == bytes(range(256)) * 64
    assert len(calls) == 2


class Label(str):
    """A str subclass: pickled, not stored as plain text."""


@pytest.mark.parametrize("engine", [bcache, fcache])
def test_str_bytes_and_their_subclasses_round_trip(engine):
    values = {"text": "héllo \U0001f600", "bytes": b"\x00\xff", "label": Label("x"), "empty": ""}

    @engine(folder_name=f"plain_{engine.__name__}")
    def value_of(kind):
        return values[kind]

    for kind, value in values.items():
        assert value_of(kind) == value
        again = value_of(kind)
        assert again == value and type(again) is type(value)
    assert value_of.cache_info().hits == len(values)
