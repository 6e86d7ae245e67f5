"""issue 19.3: a job must not read its runner's memory, environment or secret files.

Every herocelery process turns PR_SET_DUMPABLE off (another process of the same user cannot
read its /proc/<pid>/environ or memory); with `job_user`, python and shell jobs run as
another Unix user, which cannot read the runner's files (the 0600 secret file) either. The
runners here get the broker's password from `broker_secret_file`, not their environment.
Tried as a hostile job would: a shell job (and a python job, where the job user can run
this machine's Python) looks for every secret it could reach.
"""
from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time

import pytest
from ctx_fixtures import SECRET, _registrar_settings
from support import descendants, wait_for

from herocelery.contexts import Scope
from herocelery.flow import Flow
from herocelery.models import FlowStatus

JOB_USER = "hcjob"
NODE = "jobuser"
NO_CAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


@pytest.fixture(scope="module")
def job_user():
    if os.geteuid() != 0:
        pytest.skip("jobs as another Unix user: the runner must be root to switch to it "
                    "(and the test to create the user)")
    created = False
    try:
        pwd.getpwnam(JOB_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", JOB_USER], check=True)
        created = True
    yield pwd.getpwnam(JOB_USER)
    if created:
        subprocess.run(["userdel", JOB_USER], check=False)


@pytest.fixture(scope="module")
def user_cluster(job_user, secure_herodb, secure_cluster, tmp_path_factory):
    """python and shell runners on node `jobuser`, running jobs as `hcjob`, whose broker
    password comes from a 0600 file (the URL in their environment has none)."""
    from herocelery.launcher import Cluster
    from herocelery.settings import Settings
    data = tmp_path_factory.mktemp("jobuser-data")
    secret = data / "broker.secret"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(SECRET + "\n")
    settings = Settings.load(
        env={}, broker_url=secure_herodb.bare(1), broker_secret_file=secret, data_dir=data,
        job_user=JOB_USER, lease_s=3.0, heartbeat_s=0.5, concurrency=1, job_timeout_s=20.0,
        visibility_timeout_s=60.0, node=NODE, nodes=(NODE,), log_level="INFO")
    assert SECRET in settings.broker_url and SECRET not in str(settings.to_env())
    c = Cluster(_registrar_settings(settings), {NODE: ["python", "shell"]},
                tmp_path_factory.mktemp("jobuser-logs"))
    c.start(timeout_s=90)
    yield c, settings, secret
    c.stop()


HOSTILE_SH = """
echo "user: $(id -un)"
echo "secret-file: $(cat {secret} 2>&1)"
echo "parent-environ: $(cat /proc/$PPID/environ 2>&1 | tr '\\0' ' ' | head -c 300)"
for d in /proc/[0-9]*; do
  if tr '\\0' ' ' < $d/cmdline 2>/dev/null | grep -q 'herocelery'; then
    if cat $d/environ > /dev/null 2>&1; then echo "readable-environ: $d"; fi
    if grep -q . $d/maps 2> /dev/null; then echo "readable-maps: $d"; fi
  fi
done
echo "store: $(redis-cli -p {port} -n 3 keys 'hero:*' 2>&1)"
echo "env: $(env | tr '\\n' ' ')"
"""


def test_a_shell_job_as_job_user_reaches_no_secret_of_its_runner(user_cluster, secure_settings,
                                                                secure_herodb, registry):
    cluster, settings, secret = user_cluster
    admin = registry.create_key(f"ju-{os.getpid()}-{time.monotonic_ns() % 10**6}",
                                Scope.admin)
    f = Flow("hostile-shell")
    f.job("look", runner="shell", node=NODE,
          script=HOSTILE_SH.format(secret=secret, port=secure_herodb.port))
    h = f.submit(secure_settings, api_key=admin)
    try:
        h.wait(60)
        assert h.status() is FlowStatus.finished, h.jobs()
        out = h.results["look"]["stdout"]
    finally:
        h.close()
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["user"] == JOB_USER
    assert "Permission denied" in lines["secret-file"], lines
    assert "Permission denied" in lines["parent-environ"], lines
    assert not [k for k in lines if k.startswith("readable-")], out
    assert "NOAUTH" in lines["store"] or "NOPERM" in lines["store"], lines
    assert SECRET not in out
    # and the runners hold the password in memory only: not in any environment
    for pid in set().union(*(descendants(p.pid) for p in cluster.procs)):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                assert SECRET.encode() not in fh.read(), pid
        except FileNotFoundError:
            pass


HOSTILE_PY = """
import os
def attempt(fn):
    try:
        return 'read: ' + str(fn())[:200]
    except OSError as exc:
        return type(exc).__name__
out = {'uid': os.getuid()}
out['secret_file'] = attempt(lambda: open(%(secret)r).read())
out['parent_environ'] = attempt(lambda: open('/proc/%%d/environ' %% os.getppid(), 'rb').read())
out['parent_mem'] = attempt(lambda: open('/proc/%%d/mem' %% os.getppid(), 'rb').read(1))
out['grandparent_environ'] = attempt(lambda: open('/proc/%%d/environ' %% int(
    open('/proc/%%d/stat' %% os.getppid()).read().rsplit(')', 1)[1].split()[1]), 'rb').read())
result = out
"""


def test_a_python_job_as_job_user_reaches_no_secret_of_its_runner(user_cluster, job_user,
                                                                 secure_settings, registry):
    """The zygote (the runner's user) forks the job, which switches to job_user before it
    reads what it is to run; it then finds its parent's memory and environ closed."""
    cluster, settings, secret = user_cluster
    admin = registry.create_key(f"jp-{os.getpid()}-{time.monotonic_ns() % 10**6}", Scope.admin)
    f = Flow("hostile-python")
    f.job("look", node=NODE, script=HOSTILE_PY % {"secret": str(secret)})
    h = f.submit(secure_settings, api_key=admin)
    try:
        h.wait(60)
        assert h.status() is FlowStatus.finished, h.jobs()["look"].error
        out = h.results["look"]
    finally:
        h.close()
    assert out["uid"] == job_user.pw_uid
    for name in ("secret_file", "parent_environ", "parent_mem", "grandparent_environ"):
        assert not out[name].startswith("read"), (name, out)


def test_herocelery_processes_are_not_dumpable(tmp_path, redis_server):
    """Same Unix user, no capabilities on either side (as a job of an installation without
    job_user is): a plain process's environ is readable, a herocelery process's is not."""
    if os.geteuid() != 0:
        pytest.skip("the probe drops root's capabilities with setpriv (needs root)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env.update(HEROCELERY_BROKER_URL=redis_server.url + "/1",
               HEROCELERY_DATA_DIR=str(tmp_path), HEROCELERY_CONCURRENCY="1")
    procs = {
        "plain": [sys.executable, "-c", "import time; time.sleep(60)"],
        "herodb": [sys.executable, "-m", "herocelery.herodb", "serve", "--port", "0"],
        "runner": [sys.executable, "-m", "herocelery", "runner", "start", "shell", "--node",
                   "dumpable-probe"],
    }
    started = {name: subprocess.Popen([*NO_CAPS, *argv], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
               for name, argv in procs.items()}
    try:
        def readable(name: str) -> bool:
            return subprocess.run([*NO_CAPS, "cat", f"/proc/{started[name].pid}/environ"],
                                  capture_output=True).returncode == 0
        # a fresh process is dumpable until herocelery turns it off: wait for that
        wait_for(lambda: not readable("herodb") and not readable("runner"), 30,
                 what="herocelery processes to turn PR_SET_DUMPABLE off")
        assert readable("plain")
        assert all(p.poll() is None for p in started.values())
    finally:
        for p in started.values():
            p.kill()
            p.wait()
