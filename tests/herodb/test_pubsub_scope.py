"""Pub/sub under the access model (issue 19.4), on a real HeroDB subprocess, as a tenant
holding only its own database's access key would try: channels are scoped by database like
keys; the admin connection hears everything; INFO shows a tenant only its own databases."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from procs import HeroDB, start_herodb
from support import wait_for

SECRET = "s3cret-admin-pubsub"


@pytest.fixture(scope="module", params=["fast", "pure"])
def hd(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HeroDB]:
    """The C request loop and the pure-Python one must scope alike."""
    d = tmp_path_factory.mktemp("pubsub-scope")
    with pytest.MonkeyPatch.context() as mp:   # the child inherits it at start only
        if request.param == "pure":
            mp.setenv("HEROCELERY_PURE_PYTHON", "1")
        else:
            mp.delenv("HEROCELERY_PURE_PYTHON", raising=False)
        server = start_herodb(d / "data", "--admin-secret", SECRET, logs=d)
    yield server
    server.stop()


class Tenants:
    def __init__(self, hd: HeroDB) -> None:
        self.port = hd.port
        admin = self.admin(0)
        for n, *_ in admin.execute_command("HERODB", "DBLIST"):
            admin.execute_command("HERODB", "DBDELETE", n)
        admin.execute_command("HERODB", "DBCREATE", "5", "PRIVATE")
        admin.execute_command("HERODB", "DBCREATE", "6", "PRIVATE")
        self.key5 = admin.execute_command("HERODB", "KEYCREATE", "5", "readwrite").decode()
        self.key6 = admin.execute_command("HERODB", "KEYCREATE", "6", "readwrite").decode()
        admin.close()

    def admin(self, db: int) -> redis.Redis:
        return redis.Redis(port=self.port, password=SECRET, db=db, protocol=2)

    def tenant(self, db: int, protocol: int = 2) -> redis.Redis:
        key = self.key5 if db == 5 else self.key6
        return redis.Redis(port=self.port, username=str(db), password=key, db=db,
                           protocol=protocol)


@pytest.fixture
def t(hd: HeroDB) -> Tenants:
    return Tenants(hd)


def listen(r: redis.Redis, *patterns: str) -> Any:
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.client_keepalive = r          # the client's pool must outlive the subscription
    ps.psubscribe(*patterns)
    wait_for(lambda: ps.get_message(timeout=0.05) is None and ps.subscribed, 5,
             what="the subscription")
    return ps


def drain(ps: Any, until: str, timeout_s: float = 5.0) -> list[str]:
    """Channels of every message up to and including one on `until` (the sentinel that
    proves delivery happened, so 'nothing else arrived' is not a guess)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        msg = ps.get_message(timeout=0.2)
        if msg is None:
            continue
        seen.append(msg["channel"].decode())
        if seen[-1] == until:
            return seen
    raise AssertionError(f"no message on {until!r} within {timeout_s}s; saw {seen}")


def test_a_tenant_hears_only_its_own_databases_channels(t: Tenants) -> None:
    spy = listen(t.tenant(5), "*")
    broker, store, other = t.admin(1), t.admin(3), t.admin(6)
    broker.publish("/1.celeryev/task.succeeded", "event of a worker")
    broker.publish("/1.celery.pidbox", "a control command")
    store.publish("hero:events:6-abc", "flow event of tenant 6, from the store")
    other.publish("hero:events:6-abc", "job event of tenant 6")
    t.tenant(6).publish("chatter", "tenant 6 to itself")
    t.admin(5).publish("hero:events:5-own", "my own flow's event")
    assert drain(spy, "hero:events:5-own") == ["hero:events:5-own"]
    spy.close()


def test_the_admin_connection_hears_everything_an_admin_publishes(t: Tenants) -> None:
    ears = listen(t.admin(3), "*")
    t.admin(1).publish("/1.celeryev/worker.heartbeat", "beat")
    t.admin(5).publish("hero:events:5-x", "in a context's database")
    t.admin(3).publish("end", "sentinel")
    assert drain(ears, "end") == ["/1.celeryev/worker.heartbeat", "hero:events:5-x", "end"]
    ears.close()


def test_a_tenant_cannot_publish_to_the_workers_or_other_tenants(t: Tenants) -> None:
    broker = t.admin(1)
    pidbox = broker.pubsub(ignore_subscribe_messages=True)
    pidbox.subscribe("/1.celery.pidbox")          # as a Celery worker listens for control
    flower = listen(t.admin(1), "/1.celeryev/*")   # as Flower listens for events
    tenant6 = listen(t.tenant(6), "*")
    wait_for(lambda: pidbox.get_message(timeout=0.05) is None and pidbox.subscribed, 5,
             what="the pidbox subscription")
    hostile = t.tenant(5)
    assert hostile.publish("/1.celery.pidbox", '{"method": "shutdown"}') == 0
    assert hostile.publish("/1.celeryev/worker.offline", "forged") == 0
    assert hostile.publish("hero:events:6-abc", "forged for tenant 6") == 0
    t.admin(1).publish("/1.celery.pidbox", "real")
    t.admin(1).publish("/1.celeryev/end", "real")
    t.admin(6).publish("end6", "real")
    assert drain(pidbox, "/1.celery.pidbox") == ["/1.celery.pidbox"]
    assert [m for m in [pidbox.get_message(timeout=0.1)] if m] == []
    assert drain(flower, "/1.celeryev/end") == ["/1.celeryev/end"]
    assert drain(tenant6, "end6") == ["end6"]
    for ps in (pidbox, flower, tenant6):
        ps.close()


def test_a_tenant_talks_to_itself_and_an_admin_on_its_database_hears_it(t: Tenants) -> None:
    mine = listen(t.tenant(5), "room")
    watcher = listen(t.admin(5), "room")           # an admin may look into any database
    assert t.tenant(5).publish("room", "hello") == 2
    assert drain(mine, "room") == ["room"]
    assert drain(watcher, "room") == ["room"]
    mine.close()
    watcher.close()


def test_a_deleted_key_stops_the_stream_at_once(t: Tenants) -> None:
    ps = listen(t.tenant(6), "*")
    admin0 = t.admin(0)
    admin0.execute_command("HERODB", "KEYDELETE", "6", t.key6)
    assert t.admin(6).publish("after", "gone") == 0
    ps.close()


def test_resp3_subscriptions_keep_the_database_they_were_made_in(t: Tenants) -> None:
    r = t.tenant(5, protocol=3)
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe("news")
    wait_for(lambda: ps.get_message(timeout=0.05) is None and ps.subscribed, 5,
             what="the subscription")
    t.admin(6).publish("news", "of tenant 6")
    t.admin(5).publish("news", "of tenant 5")
    msg = wait_for(lambda: ps.get_message(timeout=0.2), 5, what="a message")
    assert msg["data"] == b"of tenant 5"
    ps.close()


def test_pubsub_introspection_and_info_show_a_tenant_only_its_own(t: Tenants) -> None:
    broker, tenant = t.admin(1), t.tenant(5)
    workers = broker.pubsub()
    workers.subscribe("/1.celery.pidbox")
    workers.psubscribe("/1.celeryev/*")
    own = tenant.pubsub()
    own.subscribe("room5")
    admin0, admin5 = t.admin(0), t.admin(5)
    wait_for(lambda: b"/1.celery.pidbox" in admin0.pubsub_channels()
             and b"room5" in admin5.pubsub_channels(), 5, what="the subscriptions")
    for db in (1, 5, 6):
        t.admin(db).set("k", "v")
    assert tenant.pubsub_channels() == [b"room5"]
    assert tenant.pubsub_numsub("/1.celery.pidbox", "room5") == [(b"/1.celery.pidbox", 0),
                                                                  (b"room5", 1)]
    assert tenant.pubsub_numpat() == 0
    assert set(tenant.info("keyspace")) == {"db5"}
    assert tenant.info("stats")["pubsub_channels"] == 1
    assert b"room5" not in admin0.pubsub_channels()       # scoped to database 5
    assert admin5.pubsub_numsub("room5") == [(b"room5", 1)]
    assert {"db1", "db5", "db6"} <= set(admin0.info("keyspace"))
    assert admin0.pubsub_numpat() >= 1
    assert admin0.info("stats")["pubsub_channels"] >= 2
    workers.close()
    own.close()
