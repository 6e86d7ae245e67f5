"""End to end on real workers and a HeroDB with an admin secret: who may run what where,
signed jobs, and jobs of every runner type trying to leave their context."""
from __future__ import annotations

import json
import uuid

import pytest
import redis
from ctx_fixtures import SECRET

from herocelery.contexts import Registry, Role, Scope, SigningKey, scoped_url
from herocelery.errors import PermissionDenied
from herocelery.flow import Flow, FlowHandle
from herocelery.keys import Keys
from herocelery.models import FlowStatus, JobStatus


class Team:
    """Two contexts, an admin key, and one user key per context (plus a reader)."""

    def __init__(self, registry) -> None:
        tag = uuid.uuid4().hex[:6]
        self.admin_name = f"iso-admin-{tag}"
        self.admin = registry.create_key(self.admin_name, Scope.admin)
        self.alice_name, self.bob_name = f"alice-{tag}", f"bob-{tag}"
        self.rita_name = f"rita-{tag}"
        self.alice = registry.create_key(self.alice_name, Scope.user)
        self.bob = registry.create_key(self.bob_name, Scope.user)
        self.rita = registry.create_key(self.rita_name, Scope.user)
        self.a = registry.create_context(f"iso-a-{tag}", executors=[self.alice_name],
                                         readers=[self.rita_name])
        self.b = registry.create_context(f"iso-b-{tag}", executors=[self.bob_name])


@pytest.fixture(scope="module")
def team(registry) -> Team:
    return Team(registry)


def run(flow: Flow, settings, api_key: str, timeout: float = 60, **kw) -> FlowHandle:
    handle = flow.submit(settings, api_key=api_key, **kw)
    handle.wait(timeout)
    return handle


def context_client(settings, ctx) -> redis.Redis:
    return redis.Redis.from_url(scoped_url(settings.broker_url, ctx), decode_responses=True)


# ---- admission ---------------------------------------------------------------------------------
def test_a_user_runs_flows_in_their_own_context(secure_cluster, secure_settings, team) -> None:
    f = Flow("mine", context=team.a.name)
    f.job("write", script="ctx.db.set('greeting', 'hi'); result = ctx.caller_id")
    f.job("read", after="write", runner="shell",
          script='redis-cli -u "$HERO_DB_URL" --no-auth-warning get greeting')
    h = run(f, secure_settings, team.alice)
    assert h.status() is FlowStatus.finished, h.jobs()
    assert h.results["write"] == team.alice_name
    assert h.results["read"]["stdout"].strip() == "hi"
    assert context_client(secure_settings, team.a).get("greeting") == "hi"
    assert context_client(secure_settings, team.b).get("greeting") is None
    h.close()


def test_flow_and_job_records_live_in_the_contexts_database(secure_cluster, secure_settings,
                                                            team) -> None:
    f = Flow("homed", context=team.a.name)
    f.job("one", script="result = 1")
    f.job("two", after="one", script="result = 2")
    h = run(f, secure_settings, team.alice)
    assert h.status() is FlowStatus.finished, h.jobs()
    ids = [h.id, *h.record().jobs.values()]
    assert all(i.startswith(f"{team.a.db}-") for i in ids)  # ids name their home
    a_db = context_client(secure_settings, team.a)
    assert a_db.hget(Keys.flow(h.id), "status") == "finished"
    assert all(a_db.exists(Keys.job(j)) for j in h.record().jobs.values())
    assert a_db.zscore(Keys.flows(), h.id) is not None
    store = redis.Redis.from_url(secure_settings.store_url(), decode_responses=True)
    assert not store.exists(Keys.flow(h.id), *(Keys.job(j) for j in ids[1:]))
    assert context_client(secure_settings, team.b).keys("hero:*") == []
    h.close()


@pytest.mark.parametrize("who", ["bob", "rita"])
def test_the_coordinator_refuses_callers_who_may_not_execute_there(secure_settings, team,
                                                                   registry, who) -> None:
    key = {"bob": team.bob, "rita": team.rita}[who]
    a_db = context_client(secure_settings, team.a)
    before = a_db.zcard(Keys.flows())
    f = Flow("theirs", context=team.a.name)
    f.job("x", script="result = 1")
    with pytest.raises(PermissionDenied, match="may not execute jobs in context"):
        f.submit(secure_settings, api_key=key)
    assert a_db.zcard(Keys.flows()) == before  # nothing stored


def test_unknown_keys_contexts_and_missing_keys_are_refused(secure_settings, team) -> None:
    f = Flow("x", context=team.a.name)
    f.job("x", script="result = 1")
    with pytest.raises(PermissionDenied, match="not valid"):
        f.submit(secure_settings, api_key="hc_not-a-key")
    with pytest.raises(PermissionDenied, match="HEROCELERY_API_KEY"):
        f.submit(secure_settings)
    g = Flow("x", context="no-such-context")
    g.job("x", script="result = 1")
    with pytest.raises(PermissionDenied, match="no context named"):
        g.submit(secure_settings, api_key=team.admin)


def hand_made_flow(secure_settings, spec, caller: str, tamper=None) -> str:
    """Store a flow's records directly and put its first jobs on the supervisor queue, as
    someone with broker access but bypassing the coordinator's checks would."""
    from herocelery.celeryapp import make_app
    from herocelery.coordinator import build_records, dispatch
    app = make_app(secure_settings)
    rt = app.runtime
    try:
        home = Registry(rt.store.r, secure_settings).context(spec.context).db
        flow, jobs = build_records(rt, spec, caller, home=home)
        if tamper:
            tamper(jobs)
        rt.store.create_flow(flow, jobs)
        dispatch(rt, flow.id, [(j.id, j.node, j.name) for j in jobs if j.pending == 0])
        return flow.id
    finally:
        rt.close()
        app.close()


def only_job(secure_settings, flow_id: str):
    h = FlowHandle(flow_id, secure_settings)
    try:
        h.wait(60)
        return next(iter(h.jobs().values()))
    finally:
        h.close()


def test_the_supervisor_refuses_a_job_put_on_the_queue_by_hand(secure_cluster, secure_settings,
                                                               team) -> None:
    f = Flow("sneaky", context=team.a.name)
    f.job("x", script="ctx.db.set('sneaky', 1); result = 1")
    job = only_job(secure_settings, hand_made_flow(secure_settings, f.spec(), team.bob_name))
    assert job.status is JobStatus.error
    assert job.error["type"] == "PermissionDenied"
    assert team.bob_name in job.error["message"] and team.a.name in job.error["message"]
    assert context_client(secure_settings, team.a).get("sneaky") is None


def test_jobs_of_a_revoked_or_unknown_caller_are_refused_at_admission(secure_cluster, registry,
                                                                      secure_settings,
                                                                      team) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    registry.create_key(name, Scope.user)
    registry.grant(team.a.name, name, Role.executor)
    registry.revoke_key(name)
    f = Flow("revoked", context=team.a.name)
    f.job("x", script="result = 1")
    job = only_job(secure_settings, hand_made_flow(secure_settings, f.spec(), name))
    assert job.status is JobStatus.error and job.error["type"] == "PermissionDenied"
    assert "no valid API key" in job.error["message"]


# ---- signed jobs -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def signed(registry, team):
    key = SigningKey.generate()
    ctx = registry.create_context(f"iso-signed-{uuid.uuid4().hex[:6]}",
                                  executors=[team.alice_name], require_signatures=True,
                                  signers=[key.public_hex])
    return ctx, key


def test_a_context_requiring_signatures_refuses_unsigned_and_foreign_jobs(secure_settings,
                                                                         team, signed) -> None:
    ctx, key = signed
    f = Flow("unsigned", context=ctx.name)
    f.job("x", script="result = 1")
    with pytest.raises(PermissionDenied, match="requires signed jobs"):
        f.submit(secure_settings, api_key=team.alice)
    with pytest.raises(PermissionDenied, match="only from its signers"):
        f.submit(secure_settings, api_key=team.alice, sign_with=SigningKey.generate())


def test_signed_jobs_run_and_see_their_signatories(secure_cluster, secure_settings, team,
                                                   signed) -> None:
    ctx, key = signed
    f = Flow("signed", context=ctx.name)
    f.job("who", script="result = list(ctx.signatories)")
    h = run(f, secure_settings, team.alice, sign_with=key)
    assert h.status() is FlowStatus.finished, h.jobs()
    assert h.results["who"] == [key.public_hex]
    assert h.jobs()["who"].signatories == [key.public_hex]
    h.close()


def test_a_job_changed_after_signing_is_refused_by_the_supervisor(secure_cluster,
                                                                 secure_settings, team,
                                                                 signed) -> None:
    ctx, key = signed
    f = Flow("tampered", context=ctx.name)
    f.job("x", script="result = 'honest'")
    f.sign(key)

    def tamper(jobs) -> None:
        jobs[0].script = "result = 'evil'"
    job = only_job(secure_settings, hand_made_flow(secure_settings, f.spec(), team.alice_name,
                                                   tamper))
    assert job.status is JobStatus.error and job.error["type"] == "PermissionDenied"
    assert "does not match" in job.error["message"]
    assert job.result is None


def test_a_job_changed_after_admission_is_refused_by_the_runner(secure_cluster, secure_settings,
                                                              team, signed) -> None:
    """Records live in the context's database, which the context's own jobs can write: the
    runner checks signatures again on the record it claims, and takes the signatories from its
    own check, not from the record."""
    from herocelery import canvas
    from herocelery.celeryapp import make_app
    from herocelery.coordinator import build_records
    ctx, key = signed
    f = Flow("changed-late", context=ctx.name)
    f.job("x", script="result = 'honest'")
    f.sign(key)
    app = make_app(secure_settings)
    rt = app.runtime
    try:
        flow, jobs = build_records(rt, f.spec(), team.alice_name, home=ctx.db)
        job = jobs[0]
        # as if admitted, then rewritten by another job of the context before its runner ran
        job.status, job.signatories = JobStatus.dispatched, [key.public_hex]
        job.script = "result = 'evil'"
        rt.store.create_flow(flow, jobs)
        canvas.send([canvas.runner_call(app, job.id, job.node, job.runner, flow.id, job.name)])
    finally:
        rt.close()
        app.close()
    done = only_job(secure_settings, flow.id)
    assert done.status is JobStatus.error and done.error["type"] == "PermissionDenied"
    assert "does not match" in done.error["message"]
    assert done.result is None


HOSTILE_PY = """
import json
jobs = json.loads(ctx.db.hget('hero:flow:' + ctx.flow_id, 'jobs'))
ctx.db.hset('hero:job:' + jobs['victim'], mapping={'caller_id': args['as']})
ctx.db.hset('hero:job:' + jobs['slow'], mapping={'timeout_s': '55'})
ctx.db.hset('hero:job:' + jobs['rewritten'], mapping={'script': 'result = "evil"'})
result = sorted(jobs)
"""


def test_a_job_rewriting_a_siblings_caller_and_timeout_does_not_make_it_run_so(
        secure_cluster, secure_settings, team) -> None:
    """issue 19.5: records live in the context's database, which its jobs can write; a job
    set a sibling's `caller_id` to an admin's and raised another's `timeout_s`, and they
    ran so. Now the fields submission checked are sealed, and what they run as is kept
    out of the context's reach: the siblings run as the original caller with their original
    limits; a rewritten script cannot be re-derived and is refused."""
    f = Flow("hostile", context=team.a.name)
    f.job("evil", script=HOSTILE_PY, args={"as": team.admin_name})
    f.job("victim", after="evil", script="ctx.db.set('ran-as', ctx.caller_id); result = 1")
    f.job("slow", after="evil", timeout=2,
          script="import time; ctx.db.set('slow-ran', 1); time.sleep(4); result = 1")
    f.job("rewritten", after="evil", script="result = 'honest'")
    h = f.submit(secure_settings, api_key=team.alice)
    try:
        h.wait(60)
        jobs = h.jobs()
        assert jobs["evil"].status is JobStatus.finished, jobs["evil"]
        a_db = context_client(secure_settings, team.a)
        assert jobs["victim"].status is JobStatus.finished, jobs["victim"].error
        assert a_db.get("ran-as") == team.alice_name        # not the admin it was given
        assert jobs["slow"].status is JobStatus.timeout, jobs["slow"]   # 2 s, not 55
        assert a_db.get("slow-ran") == "1"
        bad = jobs["rewritten"]
        assert bad.status is JobStatus.error and bad.error["type"] == "PermissionDenied"
        assert "changed after submission" in bad.error["message"] and bad.result is None
    finally:
        h.close()


def test_a_forged_signature_is_refused_at_submit(secure_settings, team, signed) -> None:
    ctx, key = signed
    f = Flow("forged", context=ctx.name)
    f.job("x", script="result = 1")
    f.sign(SigningKey.generate())
    sig = f._jobs["x"].signatures[0]
    sig["public_key"] = key.public_hex  # claims the trusted signer
    with pytest.raises(PermissionDenied, match="does not match"):
        f.submit(secure_settings, api_key=team.alice)


# ---- data isolation, per runner type -----------------------------------------------------------
LEAVE_PY = f"""
import os, redis, json
out = {{}}
def attempt(name, fn):
    try:
        fn()
        out[name] = 'allowed'
    except Exception as exc:
        out[name] = type(exc).__name__ + ': ' + str(exc)
url = os.environ['HERO_DB_URL']
host = ctx.db.connection_pool.connection_kwargs['host']
port = ctx.db.connection_pool.connection_kwargs['port']
own_db = ctx.db.connection_pool.connection_kwargs['db']
attempt('own', lambda: ctx.db.set('mine', 1))
attempt('admin_db', lambda: redis.Redis(host=host, port=port, db=0, protocol=2).dbsize())
attempt('store_db', lambda: redis.Redis(host=host, port=port, db=3, protocol=2).keys('hero:*'))
attempt('broker_db', lambda: redis.Redis(host=host, port=port, db=1, protocol=2).keys('*'))
attempt('other_ctx', lambda: ctx.db.execute_command('SELECT', {{other}}))
attempt('store_with_own_key', lambda: ctx.db.execute_command('SELECT', 3, 'KEY',
                                                             url.split(':')[2].split('@')[0]))
attempt('guess_secret', lambda: redis.Redis(host=host, port=port, password='wrong',
                                            protocol=2).dbsize())
attempt('flushall', lambda: ctx.db.flushall())
attempt('herodb_admin', lambda: ctx.db.execute_command('HERODB', 'DBLIST'))
env = dict(os.environ)
out['env_has_secret'] = any('{SECRET}' in v for v in env.values())
out['env_names'] = sorted(env)
result = out
"""


def test_a_python_job_cannot_leave_its_context(secure_cluster, secure_settings, team) -> None:
    f = Flow("leave-py", context=team.a.name)
    f.job("leave", script=LEAVE_PY.replace("{other}", str(team.b.db)))
    h = run(f, secure_settings, team.alice)
    out = h.results["leave"]
    assert h.status() is FlowStatus.finished, h.jobs()
    assert out["own"] == "allowed"
    for name in ("admin_db", "store_db", "broker_db", "other_ctx", "store_with_own_key",
                 "guess_secret", "flushall", "herodb_admin"):
        assert out[name] != "allowed", name
        assert any(w in out[name] for w in ("NOAUTH", "NOPERM", "Authentication",
                                            "permission", "WRONGPASS", "invalid",
                                            "does not exist", "private", "admin")), out[name]
    assert out["env_has_secret"] is False
    assert "HERO_DB_URL" in out["env_names"]
    assert not [n for n in out["env_names"] if n.startswith("HEROCELERY_")]
    h.close()


def test_a_shell_job_cannot_leave_its_context(secure_cluster, secure_settings, team) -> None:
    admin_b = context_client(secure_settings, team.b)
    admin_b.set("secret-of-b", "b-only")
    port = secure_settings.broker_url.rsplit(":", 1)[1].split("/")[0]
    script = f"""
redis-cli -u "$HERO_DB_URL" --no-auth-warning set shell-own 1
echo "admin: $(redis-cli -p {port} -n 0 dbsize 2>&1)"
echo "other: $(redis-cli -u "$HERO_DB_URL" --no-auth-warning select {team.b.db} 2>&1)"
echo "store: $(redis-cli -p {port} -n 3 keys 'hero:*' 2>&1)"
echo "secret-in-env: $(env | grep -c '{SECRET}')"
echo "herocelery-env: $(env | grep -c '^HEROCELERY_')"
"""
    f = Flow("leave-sh", context=team.a.name)
    f.job("leave", runner="shell", script=script)
    h = run(f, secure_settings, team.alice)
    assert h.status() is FlowStatus.finished, h.jobs()
    lines = dict(line.split(": ", 1) for line in
                 h.results["leave"]["stdout"].splitlines() if ": " in line)
    assert "NOAUTH" in lines["admin"] or "NOPERM" in lines["admin"], lines
    assert "NOPERM" in lines["other"], lines
    assert "NOAUTH" in lines["store"] or "NOPERM" in lines["store"], lines
    assert lines["secret-in-env"].strip() == "0" and lines["herocelery-env"].strip() == "0"
    assert context_client(secure_settings, team.a).get("shell-own") == "1"
    h.close()


def test_in_process_runners_only_see_their_context(secure_cluster, secure_settings, team,
                                                   registry) -> None:
    """heroscript, rhai and osis run inside the worker: they get only the scoped connection,
    so another context's data is simply not there, and what they write stays home."""
    kinds = secure_cluster.runner_types
    context_client(secure_settings, team.b).set("b-key", "b-value")
    from herocelery.runners.osis import Osis
    Osis(context_client(secure_settings, team.b)).define("leak", {"name": "str"}, ["name"])
    Osis(context_client(secure_settings, team.b)).set("leak", {"name": "b-object"})
    f = Flow("leave-inproc", context=team.a.name)
    if "heroscript" in kinds:
        f.job("hs", runner="heroscript",
              script="!!db.set key:hs-own value:1\n!!job.result json:'0'\n"
                     "!!db.get key:b-key\n")
    if "rhai" in kinds:
        f.job("rh", runner="rhai", script='db_set("rhai-own", "1"); db_get("b-key")')
    if "osis" in kinds:
        f.job("os", runner="osis", script=json.dumps([
            {"action": "define", "model": "leak", "fields": {"name": "str"}, "index": ["name"]},
            {"action": "set", "model": "leak", "object": {"name": "a-object"}},
            {"action": "find", "model": "leak", "prefix": {"name": ""}}]))
    h = run(f, secure_settings, team.alice)
    assert h.status() is FlowStatus.finished, h.jobs()
    a, b = context_client(secure_settings, team.a), context_client(secure_settings, team.b)
    if "heroscript" in kinds:
        assert a.get("hs-own") == "1" and b.get("hs-own") is None
        assert "b-value" not in json.dumps(h.jobs()["hs"].result)
    if "rhai" in kinds:
        assert h.results["rh"] is None and a.get("rhai-own") == "1"
    if "osis" in kinds:
        found = h.results["os"][2]
        assert [o["name"] for o in found] == ["a-object"]
        assert [o["name"] for o in Osis(b).find("leak", prefix={"name": ""})] == ["b-object"]
    h.close()


MEMORY_PY = f"""
import gc, sys
environ = open('/proc/self/environ', 'rb').read().decode(errors='replace')
found = [type(o).__name__ for o in gc.get_objects()
         if type(o).__name__ in ('Settings', 'Runtime', 'Celery')]
texts = [o for o in gc.get_objects() if isinstance(o, str) and '{SECRET}' in o]
result = {{'environ_has_secret': '{SECRET}' in environ, 'objects': found,
          'strings_with_secret': len(texts), 'celery_loaded': 'celery' in sys.modules}}
"""


def test_a_python_job_process_holds_no_secret_of_the_worker(secure_cluster, secure_settings,
                                                            team) -> None:
    """On a protected server python jobs run in a fresh interpreter: neither their process
    environment (/proc/self/environ) nor their memory holds the worker's settings."""
    f = Flow("memory", context=team.a.name)
    f.job("look", script=MEMORY_PY)
    h = run(f, secure_settings, team.alice)
    assert h.status() is FlowStatus.finished, h.jobs()
    assert h.results["look"] == {"environ_has_secret": False, "objects": [],
                                 "strings_with_secret": 0, "celery_loaded": False}
    h.close()


def test_other_callers_cannot_see_or_touch_a_flow_through_the_cli(secure_cluster,
                                                                  secure_settings,
                                                                  team, run_cli) -> None:
    cli = run_cli
    f = Flow("private", context=team.a.name)
    f.job("x", script="result = 'a-secret-result'")
    h = run(f, secure_settings, team.alice)
    assert h.status() is FlowStatus.finished
    h.close()
    as_bob = cli(secure_settings, "flow", "status", h.id, "--json", key=team.bob)
    assert as_bob.returncode == 1 and "may not read" in as_bob.stderr
    assert "a-secret-result" not in as_bob.stdout + as_bob.stderr
    listed = cli(secure_settings, "flow", "list", "--json", "--limit", "200", key=team.bob)
    assert listed.returncode == 0 and h.id not in listed.stdout
    as_rita = cli(secure_settings, "flow", "status", h.id, "--json", key=team.rita)
    assert as_rita.returncode == 0 and "a-secret-result" in as_rita.stdout
    assert h.id in cli(secure_settings, "flow", "list", "--json", "--limit", "200",
                       key=team.rita).stdout
    for who in (team.rita, team.bob):
        retry = cli(secure_settings, "flow", "retry", h.id, key=who)
        assert retry.returncode == 1 and "may not" in retry.stderr, retry.stderr
    graph = cli(secure_settings, "flow", "graph", h.id, key=team.bob)
    assert graph.returncode == 1 and "may not read" in graph.stderr


def test_cli_flow_submit_signs_with_a_key_file(secure_cluster, secure_settings, team, signed,
                                               run_cli, tmp_path) -> None:
    ctx, key = signed
    key.save(tmp_path / "signer.pem")
    flow = tmp_path / "signed.yaml"
    flow.write_text(f"name: cli-signed\ncontext: {ctx.name}\njobs:\n"
                    "  who: {script: 'result = list(ctx.signatories)'}\n")
    unsigned = run_cli(secure_settings, "flow", "submit", str(flow), key=team.alice)
    assert unsigned.returncode == 1 and "requires signed jobs" in unsigned.stderr
    out = run_cli(secure_settings, "flow", "submit", str(flow), "--sign",
                  str(tmp_path / "signer.pem"), "--wait", "--json", "--timeout", "60",
                  key=team.alice)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["jobs"]["who"]["result"] == [
        key.public_hex]
