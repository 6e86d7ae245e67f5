"""Pub/sub as a hostile job would use it (issue 19.4), on real Celery workers and a HeroDB
with an admin secret: a python job holding only its own context's key listens to every
channel and broadcasts a Celery `shutdown` on the workers' pidbox channel."""
from __future__ import annotations

import uuid

import pytest
import redis
from support import wait_for

from herocelery.contexts import Scope
from herocelery.flow import Flow
from herocelery.models import FlowStatus

SPY_PY = """
import time
ps = ctx.db.pubsub(ignore_subscribe_messages=True)
ps.psubscribe('*')
while not ps.subscribed or ps.get_message(timeout=0.1) is not None:
    pass
ctx.db.set('spy-ready', '1')
seen = []
deadline = time.time() + 30
while time.time() < deadline:
    m = ps.get_message(timeout=0.5)
    if m:
        seen.append(m['channel'])
        if m['channel'] == 'sentinel':
            break
result = seen
"""

# kombu names fanout channels after the database (`/1.celery.pidbox`); a job's own
# connection is on its context's database, so it names the workers' channel itself
SHUTDOWN_PY = """
import os
from celery import Celery
app = Celery('hostile', broker=os.environ['HERO_DB_URL'], set_as_current=False)
app.conf.broker_transport_options = {'fanout_prefix': '/1.'}
app.control.broadcast('shutdown')
result = 'sent'
"""


class Tenants:
    def __init__(self, registry) -> None:
        tag = uuid.uuid4().hex[:6]
        self.alice_name, self.bob_name = f"ps-alice-{tag}", f"ps-bob-{tag}"
        self.alice = registry.create_key(self.alice_name, Scope.user)
        self.bob = registry.create_key(self.bob_name, Scope.user)
        self.a = registry.create_context(f"ps-a-{tag}", executors=[self.alice_name])
        self.b = registry.create_context(f"ps-b-{tag}", executors=[self.bob_name])


@pytest.fixture(scope="module")
def tenants(registry) -> Tenants:
    return Tenants(registry)


def admin_db(settings, db: int) -> redis.Redis:
    from herocelery.settings import with_db
    return redis.Redis.from_url(with_db(settings.broker_url, db), decode_responses=True)


def test_a_job_listening_to_every_channel_hears_only_its_own_context(
        secure_cluster, secure_settings, tenants) -> None:
    spy_flow = Flow("spy", context=tenants.a.name)
    spy_flow.job("spy", script=SPY_PY)
    spy = spy_flow.submit(secure_settings, api_key=tenants.alice)
    a = admin_db(secure_settings, tenants.a.db)
    wait_for(lambda: a.get("spy-ready") == "1", 60, what="the spy to listen")
    # meanwhile another tenant runs a flow: Celery events on /1.celeryev/*, its hero:events
    other = Flow("busy", context=tenants.b.name)
    other.job("one", runner="shell", script="echo b-secret")
    other.job("two", after="one", runner="shell", script="echo more")
    h = other.submit(secure_settings, api_key=tenants.bob)
    h.wait(60)
    assert h.status() is FlowStatus.finished, h.jobs()
    a.publish("sentinel", "end")       # published in the spy's database: it must hear this
    spy.wait(60)
    assert spy.status() is FlowStatus.finished, spy.jobs()
    seen = spy.results["spy"]
    assert seen and seen[-1] == "sentinel", seen
    foreign = [ch for ch in seen if ch != "sentinel"
               and not ch.startswith(f"hero:events:{tenants.a.db}-")]
    assert foreign == [], foreign      # no /1.celeryev/..., no hero:events of tenant b
    h.close()
    spy.close()


def test_a_job_cannot_shut_down_the_workers_through_their_pidbox(
        secure_cluster, secure_settings, tenants) -> None:
    from herocelery.celeryapp import make_app
    app = make_app(secure_settings)
    try:
        before = {name for reply in app.control.ping(timeout=2.0) for name in reply}
        assert before, "no worker answered a ping"
        f = Flow("hostile", context=tenants.a.name)
        f.job("shutdown", script=SHUTDOWN_PY)
        h = f.submit(secure_settings, api_key=tenants.alice)
        h.wait(60)
        assert h.status() is FlowStatus.finished, h.jobs()
        assert h.results["shutdown"] == "sent"
        h.close()
        # a shutdown broadcast is handled the moment it arrives (before the job settles);
        # every worker that answered before must answer now, and still run
        after = {name for reply in app.control.ping(timeout=2.0) for name in reply}
        assert before <= after, f"workers gone: {sorted(before - after)}"
        assert all(p.popen.poll() is None for p in secure_cluster.procs)
    finally:
        app.close()
