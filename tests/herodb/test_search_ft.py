"""FT.*: full-text indexes on tantivy, through redis-py against a real HeroDB subprocess, on both
the C fast path and the pure Python path (FT.* always take the Python path; the C loop must
hand them over unchanged)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import redis
from procs import HeroDB, start_herodb

DOCS = {
    "d1": {"title": "The quick brown fox", "tags": "red,Blue", "year": "2001"},
    "d2": {"title": "A lazy dog sleeps", "tags": "green", "year": "1999"},
    "d3": {"title": "Quick thinking wins", "tags": "blue", "year": "2010"},
    "d4": {"title": "brown bread and quick jam", "tags": "red", "year": "2005"},
}


@pytest.fixture(scope="module", params=["c-path", "python-path"])
def hd(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HeroDB]:
    d = tmp_path_factory.mktemp("ft")
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "python-path":
            mp.setenv("HEROCELERY_PURE_PYTHON", "1")
        server = start_herodb(d / "data", "--appendfsync", "no", logs=d)
    yield server
    server.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def r(hd: HeroDB) -> Iterator[redis.Redis]:
    client = redis.Redis(port=hd.port, protocol=3)
    client.flushall()
    client.execute_command("FT.CREATE", "idx", "SCHEMA", "title", "TEXT", "SORTABLE",
                           "tags", "TAG", "year", "NUMERIC")
    for doc_id, fields in DOCS.items():
        client.execute_command("FT.ADD", "idx", doc_id, 1.0, *[x for kv in fields.items()
                                                                for x in kv])
    yield client
    client.close()


def ids(r: redis.Redis, query: str, *opts: object) -> list[str]:
    reply = r.execute_command("FT.SEARCH", "idx", query, "NOCONTENT", "LIMIT", 0, 100, *opts)
    return sorted(x.decode() for x in reply[1:])


@pytest.mark.parametrize("query, expected", [
    ("quick", ["d1", "d3", "d4"]),                      # a word, any TEXT field, any case
    ("QUICK brown", ["d1", "d4"]),                      # juxtaposition is AND
    ("quick AND brown", ["d1", "d4"]),
    ('"quick brown"', ["d1"]),                          # a phrase: adjacent, in order
    ('"brown quick"', []),
    ("qui*", ["d1", "d3", "d4"]),                       # a prefix
    ("@title:lazy", ["d2"]),
    ("@title:(fox | dog)", ["d1", "d2"]),
    ("@tags:{blue}", ["d1", "d3"]),                     # tags are case-insensitive
    ("@tags:{green | blue}", ["d1", "d2", "d3"]),
    ("@tags:red", ["d1", "d4"]),
    ("@year:[2000 2005]", ["d1", "d4"]),                # numeric range, inclusive
    ("@year:[(2001 (2010]", ["d4"]),                    # exclusive bounds
    ("@year:[-inf 2000]", ["d2"]),
    ("quick -fox", ["d3", "d4"]),                       # NOT
    ("quick NOT @tags:{red}", ["d3"]),
    ("dog | fox", ["d1", "d2"]),                        # OR
    ("dog OR wins", ["d2", "d3"]),
    ("(dog | fox) @year:[2000 +inf]", ["d1"]),
    ("-quick", ["d2"]),                                 # a pure negation: everything but
    ("*", ["d1", "d2", "d3", "d4"]),
    ("nothinghere", []),
])
def test_queries_select_exactly_the_matching_documents(r, query, expected):
    assert ids(r, query) == expected


def test_results_carry_fields_and_obey_return_limit_and_sortby(r):
    reply = r.execute_command("FT.SEARCH", "idx", "@tags:{red}", "RETURN", 1, "year")
    assert reply[0] == 2
    assert dict(zip(reply[1::2], reply[2::2], strict=False)) == {b"d1": [b"year", b"2001"],
                                                   b"d4": [b"year", b"2005"]}
    reply = r.execute_command("FT.SEARCH", "idx", "*", "SORTBY", "year", "DESC", "NOCONTENT")
    assert reply == [4, b"d3", b"d4", b"d1", b"d2"]
    reply = r.execute_command("FT.SEARCH", "idx", "*", "SORTBY", "title", "NOCONTENT",
                              "LIMIT", 1, 2)
    assert reply == [4, b"d4", b"d3"]  # a…, brown…, quick…, the…: from the second, two
    reply = r.execute_command("FT.SEARCH", "idx", "quick", "LIMIT", 0, 0)
    assert reply == [3]
    reply = r.execute_command("FT.SEARCH", "idx", "fox", "WITHSCORES")
    assert reply[0] == 1 and reply[1] == b"d1" and float(reply[2]) > 0
    assert reply[3] == [b"title", b"The quick brown fox", b"tags", b"red,Blue", b"year", b"2001"]


def test_add_replaces_a_document_and_del_removes_it(r):
    r.execute_command("FT.ADD", "idx", "d1", 1.0, "title", "slow turtle", "year", "1")
    assert ids(r, "fox") == []
    assert ids(r, "turtle") == ["d1"]
    assert ids(r, "@tags:{red}") == ["d4"]  # the old tags went with the old version
    assert r.execute_command("FT.DEL", "idx", "d1") == 1
    assert r.execute_command("FT.DEL", "idx", "d1") == 0
    assert ids(r, "turtle") == []
    info = r.execute_command("FT.INFO", "idx")
    info = dict(zip(info[::2], info[1::2], strict=False))
    assert info[b"num_docs"] == 3
    assert info[b"fields"] == [[b"title", b"TEXT", b"SORTABLE"], [b"tags", b"TAG"],
                               [b"year", b"NUMERIC", b"SORTABLE"]]


def test_document_score_boosts_relevance(r):
    r.execute_command("FT.CREATE", "boost", "SCHEMA", "body", "TEXT")
    r.execute_command("FT.ADD", "boost", "plain", 0, "body", "hello world")
    r.execute_command("FT.ADD", "boost", "boosted", 10, "body", "hello world")
    reply = r.execute_command("FT.SEARCH", "boost", "hello", "NOCONTENT")
    assert reply == [2, b"boosted", b"plain"]


def test_drop_and_list(r):
    r.execute_command("FT.CREATE", "other", "SCHEMA", "x", "TEXT")
    assert r.execute_command("FT._LIST") == [b"idx", b"other"]
    assert r.execute_command("FT.DROP", "other") == b"OK"
    assert r.execute_command("FT._LIST") == [b"idx"]
    with pytest.raises(redis.ResponseError, match="Unknown index name 'other'"):
        r.execute_command("FT.SEARCH", "other", "x")


@pytest.mark.parametrize("argv, message", [
    (("FT.SEARCH", "nope", "x"), "Unknown index name 'nope'"),
    (("FT.ADD", "nope", "d9", 1, "title", "x"), "Unknown index name 'nope'"),
    (("FT.CREATE", "idx", "SCHEMA", "a", "TEXT"), "Index already exists"),
    (("FT.CREATE", "x", "SCHEMA", "a", "FOO"), "field 'a': unknown type 'FOO'"),
    (("FT.CREATE", "x", "SCHEMA", "a", "TEXT", "a", "TAG"), "field 'a' appears twice"),
    (("FT.CREATE", "x", "SCHEMA", "a"), "field 'a' needs a type"),
    (("FT.CREATE", "x", "FIELDS", "a", "TEXT"), "usage: FT.CREATE"),
    (("FT.ADD", "idx", "d9", 1, "year", "abc"), "field 'year' is NUMERIC: 'abc' is not"),
    (("FT.ADD", "idx", "d9", 1, "colour", "x"), "unknown field 'colour'"),
    (("FT.ADD", "idx", "d9", 1, "title"), "field value pairs"),
    (("FT.ADD", "idx", "d9", -1, "title", "x"), "score must be a number >= 0"),
    (("FT.SEARCH", "idx", "(quick"), "Syntax error at offset 6"),
    (("FT.SEARCH", "idx", '"open phrase'), "unterminated phrase"),
    (("FT.SEARCH", "idx", "@year:[1 x]"), "'x' is not a number"),
    (("FT.SEARCH", "idx", "@tags:{a"), "unterminated tag list"),
    (("FT.SEARCH", "idx", "@nope:x"), "unknown field 'nope' in the query"),
    (("FT.SEARCH", "idx", "@year:{2001}"), "field 'year' is NUMERIC, not TAG"),
    (("FT.SEARCH", "idx", "@title:[1 2]"), "field 'title' is TEXT, not NUMERIC"),
    (("FT.SEARCH", "idx", "@year:word"), "field 'year' is NUMERIC"),
    (("FT.SEARCH", "idx", ""), "the query is empty"),
    (("FT.SEARCH", "idx", "x", "SORTBY", "tags"), "field 'tags' is not SORTABLE"),
    (("FT.SEARCH", "idx", "x", "LIMIT", 0), "unknown or incomplete option 'LIMIT'"),
    (("FT.SEARCH", "idx", "x", "BOGUS"), "unknown or incomplete option 'BOGUS'"),
])
def test_bad_input_is_one_clear_error_and_changes_nothing(r, argv, message):
    before = ids(r, "*")
    with pytest.raises(redis.ResponseError) as exc:
        r.execute_command(*argv)
    assert message in str(exc.value)
    assert ids(r, "*") == before
    assert ids(r, "quick") == ["d1", "d3", "d4"]
    assert r.execute_command("FT._LIST") == [b"idx"]


def test_indexes_belong_to_their_database_and_go_with_it(r, hd):
    other = redis.Redis(port=hd.port, db=3)
    with pytest.raises(redis.ResponseError, match="Unknown index name 'idx'"):
        other.execute_command("FT.SEARCH", "idx", "quick")
    r.execute_command("SWAPDB", 0, 3)
    assert other.execute_command("FT.SEARCH", "idx", "fox", "NOCONTENT") == [1, b"d1"]
    other.flushdb()  # FLUSHDB drops the database's indexes with its keys
    assert other.execute_command("FT._LIST") == []
    other.close()


def test_ft_commands_work_in_multi_and_scripts(r):
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("FT.ADD", "idx", "m1", 1, "title", "transaction zebra")
    pipe.execute_command("FT.SEARCH", "idx", "zebra", "NOCONTENT")
    assert pipe.execute()[1] == [1, b"m1"]
    found = r.eval("redis.call('FT.ADD', 'idx', 's1', 1, 'title', 'scripted yak') "
                   "return redis.call('FT.SEARCH', 'idx', 'yak', 'NOCONTENT')", 0)
    assert found == [1, b"s1"]
