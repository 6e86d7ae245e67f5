"""Index consistency under concurrent updates from several processes, and from parallel osis
jobs on real workers."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import pytest
import redis
from test_osis_store import consistent

from herocelery.contexts import scoped_url
from herocelery.flow import Flow
from herocelery.models import FlowStatus
from herocelery.runners.osis import Osis

WRITER = textwrap.dedent("""
    import random, sys, redis
    from herocelery.runners.osis import Osis
    url, seed, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    client = redis.Redis.from_url(url, decode_responses=True)
    o = Osis(client)
    rnd = random.Random(seed)
    client.incr("ready")                  # a barrier: every writer starts at the same moment
    import time
    deadline = time.monotonic() + 60
    while int(client.get("ready")) < int(sys.argv[4]) and time.monotonic() < deadline:
        time.sleep(0.005)
    for i in range(rounds):
        oid = str(rnd.randint(1, 12))
        if rnd.random() < 0.15:
            o.delete("item", oid)
        else:
            o.set("item", {"id": oid, "colour": rnd.choice(["red", "green", "blue"]),
                           "size": rnd.randint(1, 4),
                           "labels": rnd.sample(["a", "b", "c", "d"], rnd.randint(0, 3)),
                           "name": rnd.choice(["alpha", "alps", "beta"]) + str(seed)})
    print("done", seed)
""")


@pytest.fixture
def item_db(registry, secure_settings):
    ctx = registry.create_context(f"osis-conc-{uuid.uuid4().hex[:6]}",
                                  executors=["*"])
    client = redis.Redis.from_url(scoped_url(secure_settings.broker_url, ctx),
                                  decode_responses=True)
    o = Osis(client)
    o.define("item", {"colour": "str", "size": "int", "labels": "list", "name": "str"},
             ["colour", "size", "labels", "name"])
    yield ctx, o
    client.close()


def test_several_processes_updating_the_same_objects_leave_exact_indexes(item_db,
                                                                        secure_settings
                                                                        ) -> None:
    ctx, o = item_db
    url = scoped_url(secure_settings.broker_url, ctx)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(seed), "300", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    consistent(o, "item")
    # and every find answer agrees with a scan of the objects
    everything = [o.get("item", str(i)) for i in range(1, 13)]
    live = [x for x in everything if x]
    for colour in ("red", "green", "blue"):
        expected = sorted(x["id"] for x in live if x["colour"] == colour)
        assert sorted(x["id"] for x in o.find("item", {"colour": colour})) == expected


def test_parallel_osis_jobs_on_real_workers_keep_indexes_exact(secure_cluster, secure_settings,
                                                               item_db, registry) -> None:
    ctx, o = item_db
    admin_key = registry.create_key(f"conc-{uuid.uuid4().hex[:6]}", "admin")
    f = Flow("osis-parallel", context=ctx.name)
    for j in range(6):
        actions = [{"action": "set", "model": "item",
                    "object": {"id": str((j + k) % 5 + 1), "colour": ["red", "blue"][k % 2],
                               "size": j, "labels": [str(k)], "name": f"job{j}"}}
                   for k in range(15)]
        actions.append({"action": "delete", "model": "item", "id": str(j % 5 + 1)})
        f.job(f"w{j}", runner="osis", script=json.dumps(actions))
    f.job("count", runner="osis", after=[f"w{j}" for j in range(6)],
          script=json.dumps({"action": "list", "model": "item", "limit": 100}))
    h = f.submit(secure_settings, api_key=admin_key)
    assert h.wait(120) is FlowStatus.finished, h.jobs()
    consistent(o, "item")
    assert h.results["count"]["total"] == o.list("item")["total"]
    h.close()
