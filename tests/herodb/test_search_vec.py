"""VEC.*: vector sets (exact for small sets, usearch HNSW for large ones) through redis-py against
a real HeroDB subprocess, on the C fast path and the pure Python path. The vectors are made
here: HeroDB computes no embeddings (they are the caller's)."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import numpy as np
import pytest
import redis
from procs import HeroDB, start_herodb
from support import wait_for


@pytest.fixture(scope="module", params=["c-path", "python-path"])
def hd(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HeroDB]:
    d = tmp_path_factory.mktemp("vec")
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "python-path":
            mp.setenv("HEROCELERY_PURE_PYTHON", "1")
        server = start_herodb(d / "data", "--appendfsync", "no", logs=d)
    yield server
    server.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def r(hd: HeroDB) -> Iterator[redis.Redis]:
    client = redis.Redis(port=hd.port)
    client.flushall()
    client.execute_command("VEC.CREATE", "v", "DIM", 3, "METRIC", "l2")
    client.execute_command("VEC.ADD", "v", "x", "[1, 0, 0]", "META", '{"axis": "x", "n": 1}')
    client.execute_command("VEC.ADD", "v", "y", blob([0, 1, 0]), "META",
                           '{"axis": "y", "n": 2, "tags": ["a", "b"]}')
    client.execute_command("VEC.ADD", "v", "z", "[0,0,1]")
    yield client
    client.close()


def blob(values: list[float]) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def info_of(r: redis.Redis, name: str) -> dict[bytes, object]:
    info = r.execute_command("VEC.INFO", name)
    return dict(zip(info[::2], info[1::2], strict=False))


def hits(reply: list) -> list[tuple[str, float]]:
    return [(i.decode(), float(d)) for i, d, _ in reply]


def test_search_finds_the_nearest_by_l2_from_json_or_float32_input(r):
    found = hits(r.execute_command("VEC.SEARCH", "v", 2, "[0.9, 0.2, 0]"))
    assert [i for i, _ in found] == ["x", "y"]
    assert found[0][1] == pytest.approx(0.01 + 0.04, abs=1e-6)  # squared Euclidean
    assert hits(r.execute_command("VEC.SEARCH", "v", 1, blob([0, 0, 2])))[0][0] == "z"
    reply = r.execute_command("VEC.SEARCH", "v", 3, "[1,0,0]")
    assert reply[0][2] == b'{"axis": "x", "n": 1}' and reply[2][2] is None


@pytest.mark.parametrize("expr, expected", [
    ("@axis:{y}", ["y"]),
    ("@axis:x | @axis:y", ["x", "y"]),
    ("@n:[2 10]", ["y"]),
    ("-@axis:{x}", ["y", "z"]),
    ("@tags:{b}", ["y"]),
    ("@axis:{x|y} -@n:[(1 +inf]", ["x"]),
])
def test_filter_selects_by_metadata(r, expr, expected):
    reply = r.execute_command("VEC.SEARCH", "v", 10, "[1,1,1]", "FILTER", expr)
    assert sorted(i.decode() for i, _, _ in reply) == expected


@pytest.mark.parametrize("metric, query, nearest", [
    ("cosine", [10, 0.1, 0], "x"),   # direction, not length
    ("ip", [0, 3, 0], "y"),
])
def test_cosine_and_inner_product_metrics(r, metric, query, nearest):
    r.execute_command("VEC.CREATE", metric, "DIM", 3, "METRIC", metric)
    for name, v in (("x", [1, 0, 0]), ("y", [0, 1, 0]), ("long", [0.5, 0.5, 0])):
        r.execute_command("VEC.ADD", metric, name, json.dumps(v))
    found = hits(r.execute_command("VEC.SEARCH", metric, 1, json.dumps(query)))
    assert found[0][0] == nearest
    if metric == "cosine":
        assert found[0][1] == pytest.approx(1 - 10 / np.linalg.norm([10, 0.1, 0]), abs=1e-6)


def test_add_replaces_and_del_removes(r):
    assert r.execute_command("VEC.ADD", "v", "x", "[0, 0, 5]") == 0
    assert hits(r.execute_command("VEC.SEARCH", "v", 1, "[1, 0, 0]"))[0][0] == "y"
    assert r.execute_command("VEC.SEARCH", "v", 3, "[0,0,5]")[0][2] is None  # META went too
    assert r.execute_command("VEC.DEL", "v", "x") == 1
    assert r.execute_command("VEC.DEL", "v", "x") == 0
    info = r.execute_command("VEC.INFO", "v")
    info = dict(zip(info[::2], info[1::2], strict=False))
    assert info[b"count"] == 2 and info[b"dim"] == 3 and info[b"metric"] == b"l2"
    assert info[b"m"] == 16 and info[b"ef"] == 128  # the HNSW defaults
    assert r.execute_command("VEC.LIST") == [b"v"]
    assert r.execute_command("VEC.DROP", "v") == b"OK"
    assert r.execute_command("VEC.LIST") == []


def test_a_large_set_uses_hnsw_with_high_recall_against_exact_search(r):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((3000, 16)).astype(np.float32)
    r.execute_command("VEC.CREATE", "big", "DIM", 16, "M", 16, "EF", 200)
    pipe = r.pipeline(transaction=False)
    for i, x in enumerate(data):
        pipe.execute_command("VEC.ADD", "big", f"{i}", x.tobytes(), "META",
                             json.dumps({"group": i % 7}))
    pipe.execute()
    # the first search starts the HNSW build in the background and is answered exactly
    first = r.execute_command("VEC.SEARCH", "big", 1, data[11].tobytes())
    assert first[0][0] == b"11"
    wait_for(lambda: info_of(r, "big")[b"index_built"] == 1, 60, what="the HNSW build")
    norms = data / np.linalg.norm(data, axis=1, keepdims=True)
    recall = []
    for qi in range(0, 200, 10):
        query = data[qi] + 0.1 * rng.standard_normal(16).astype(np.float32)
        got = {int(i) for i, _, _ in r.execute_command("VEC.SEARCH", "big", 10, query.tobytes())}
        exact = set(np.argsort(1 - norms @ (query / np.linalg.norm(query)))[:10].tolist())
        recall.append(len(got & exact) / 10)
    assert np.mean(recall) >= 0.95
    assert info_of(r, "big")[b"search"] == b"hnsw (usearch)"
    # writes after the build reach the index: a replaced vector is found at its new place
    r.execute_command("VEC.ADD", "big", "5", (data[9] * 1.001).tobytes())
    r.execute_command("VEC.DEL", "big", "9")
    assert [int(i) for i, _, _ in r.execute_command("VEC.SEARCH", "big", 1, data[9].tobytes())
            ] == [5]
    # a filter keeps only matching neighbours, still the nearest among them
    reply = r.execute_command("VEC.SEARCH", "big", 5, data[3].tobytes(), "FILTER", "@group:[3 3]")
    assert [int(i) for i, _, _ in reply][0] == 3
    assert all(int(i) % 7 == 3 for i, _, _ in reply) and len(reply) == 5


@pytest.mark.parametrize("argv, message", [
    (("VEC.SEARCH", "nope", 1, "[1,0,0]"), "Unknown vector set 'nope'"),
    (("VEC.ADD", "v", "w", "[1, 2]"), "the vector has 2 values, the set's dimension is 3"),
    (("VEC.ADD", "v", "w", b"\x00" * 8), "got 8 bytes"),
    (("VEC.ADD", "v", "w", "[1, 2, \"a\"]"), "array of numbers"),
    (("VEC.ADD", "v", "w", "[1, 2, NaN]"), "NaN or infinity"),
    (("VEC.ADD", "v", "w", "[1, 2, 3]", "META", "[1]"), "META must be a JSON object"),
    (("VEC.ADD", "v", "w", "[1, 2, 3]", "META", "{bad"), "META is not valid JSON"),
    (("VEC.SEARCH", "v", 0, "[1,0,0]"), "k must be 1.."),
    (("VEC.SEARCH", "v", 1, "[1,0]"), "the vector has 2 values"),
    (("VEC.SEARCH", "v", 1, "[1,0,0]", "FILTER", "plainword"), "names a metadata field"),
    (("VEC.SEARCH", "v", 1, "[1,0,0]", "FILTER", "@n:[1"), "Syntax error"),
    (("VEC.CREATE", "v", "DIM", 3), "vector set already exists"),
    (("VEC.CREATE", "w", "DIM", 0), "DIM must be 1.."),
    (("VEC.CREATE", "w", "DIM", 3, "METRIC", "hamming"), "unknown METRIC 'hamming'"),
    (("VEC.CREATE", "w", "SIZE", 3), "usage: VEC.CREATE"),
    (("VEC.CREATE", "w", "DIM", 3, "EF", 1), "EF must be 2..4096"),
])
def test_bad_input_is_one_clear_error_and_changes_nothing(r, argv, message):
    with pytest.raises(redis.ResponseError) as exc:
        r.execute_command(*argv)
    assert message in str(exc.value)
    assert r.execute_command("VEC.LIST") == [b"v"]
    assert sorted(i.decode() for i, _, _ in r.execute_command("VEC.SEARCH", "v", 10, "[1,1,1]")
                  ) == ["x", "y", "z"]


def test_cosine_refuses_a_zero_vector(r):
    r.execute_command("VEC.CREATE", "c", "DIM", 2)
    with pytest.raises(redis.ResponseError, match="zero vector has no direction"):
        r.execute_command("VEC.ADD", "c", "zero", "[0, 0]")
