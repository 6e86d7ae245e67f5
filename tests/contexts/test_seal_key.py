"""The seal key after the store lost its data (issue 13.4 with 19.5): a tier that cached the
key before must check new records under the store's new key, and still refuse a record whose
sealed fields were rewritten."""
from __future__ import annotations

import redis

from herocelery.contexts import seal as sealing
from herocelery.keys import Keys
from herocelery.models import Job


def _job(**kw) -> Job:
    return Job(id="4-abc", flow_id="4-f", name="a", node="node1", runner="python",
               script="result = 1", timeout_s=60.0, **kw)


def test_a_new_key_after_the_store_lost_its_data_is_picked_up(redis_server):
    r = redis.Redis.from_url(redis_server.url + "/14", decode_responses=True)
    try:
        r.delete(Keys.seal_key())
        old = sealing.seal_key(r)                 # a tier caches the key at its first check
        before = _job()
        before.seal = sealing.seal(before, old)
        assert sealing.verify(before, r) is None
        r.flushdb()                               # the store restarted without its data
        new = sealing.seal_key(r, fresh=True)     # the next submit makes a new key
        assert new != old
        after = _job()
        after.seal = sealing.seal(after, new)
        assert sealing.verify(after, r) is None   # refused before: the cached key was used
        tampered = after.model_copy(update={"timeout_s": 10_000.0})
        assert sealing.verify(tampered, r) == sealing.TAMPERED
    finally:
        r.delete(Keys.seal_key())
        r.close()
