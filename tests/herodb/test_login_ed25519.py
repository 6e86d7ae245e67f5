"""ed25519 login: CHALLENGE, then AUTH (or HELLO 3 AUTH) with a public key and a signature over
the nonce; per-database read / readwrite / admin rights; the secret AUTH still works. A real
HeroDB subprocess with an admin secret; keys made with pynacl as a client would."""
from __future__ import annotations

from collections.abc import Iterator

import nacl.signing
import pytest
import redis
from compat import Err, Wire
from procs import HeroDB, start_herodb

SECRET = "login-admin-secret"


@pytest.fixture(scope="module")
def hd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeroDB]:
    d = tmp_path_factory.mktemp("login")
    server = start_herodb(d / "data", "--admin-secret", SECRET, logs=d)
    yield server
    server.stop()


@pytest.fixture
def admin(hd: HeroDB) -> Iterator[Wire]:
    w = Wire(hd.port)
    assert w.call("AUTH", SECRET) == "OK"
    for n, *_ in w.call("HERODB", "DBLIST"):
        w.call("HERODB", "DBDELETE", n)
    for key, _ in w.call("HERODB", "PUBKEYLIST", 0):
        w.call("HERODB", "PUBKEYDELETE", 0, key)
    for n in (5, 6):
        assert w.call("HERODB", "DBCREATE", n) == n
    yield w
    w.close()


def keypair() -> tuple[nacl.signing.SigningKey, str]:
    key = nacl.signing.SigningKey.generate()
    return key, bytes(key.verify_key).hex()


def login(w: Wire, key: nacl.signing.SigningKey, hello: bool = False) -> object:
    nonce = w.call("CHALLENGE")
    signature = key.sign(nonce).signature.hex()
    public = bytes(key.verify_key).hex()
    if hello:
        return w.call("HELLO", 3, "AUTH", public, signature)
    return w.call("AUTH", public, signature)


def test_a_key_pair_logs_in_with_a_signed_challenge_and_gets_its_rights(hd, admin):
    key, public = keypair()
    assert admin.call("HERODB", "PUBKEYADD", 5, public, "readwrite") == "OK"
    assert admin.call("HERODB", "PUBKEYADD", 6, public, "read") == "OK"
    w = Wire(hd.port)
    assert w.call("GET", "x") == Err("NOAUTH Authentication required.")
    assert login(w, key) == "OK"
    assert w.call("SELECT", 5) == "OK"
    assert w.call("SET", "k", "v") == "OK"
    assert w.call("SELECT", 6) == "OK"
    assert w.call("GET", "k") is None
    assert w.call("SET", "k", "v").text.startswith("NOPERM this connection has read-only")
    assert w.call("SELECT", 0).text.startswith("NOPERM database 0 is the admin database")
    assert w.call("HERODB", "DBLIST").text.startswith("NOPERM 'herodb' needs admin rights")
    # revoking cuts the connected client at once
    admin.call("HERODB", "PUBKEYDELETE", 6, public)
    assert w.call("GET", "k").text.startswith("NOPERM no access to database 6")
    w.close()


@pytest.mark.filterwarnings("ignore:Call to '__init__' function with deprecated usage")
def test_hello_3_auth_logs_in_too_and_redis_py_can_do_it(hd, admin):
    key, public = keypair()
    admin.call("HERODB", "PUBKEYADD", 5, public, "readwrite")
    w = Wire(hd.port)
    reply = login(w, key, hello=True)
    assert isinstance(reply, dict) and reply[b"proto"] == 3
    w.close()
    # no CLIENT SETINFO before AUTH (a secured server answers it NOAUTH)
    r = redis.Redis(port=hd.port, protocol=2, lib_name=None, lib_version=None,
                    single_connection_client=True)
    nonce = r.execute_command("CHALLENGE")
    assert r.execute_command("AUTH", public, key.sign(nonce).signature.hex()) is True
    r.execute_command("SELECT", 5)
    r.set("from-redis-py", 1)
    assert r.get("from-redis-py") == b"1"
    r.close()


@pytest.mark.parametrize("case", ["no-challenge", "wrong-key", "reused-nonce", "unknown-key",
                                  "tampered"])
def test_bad_logins_are_refused_with_one_line(hd, admin, case):
    key, public = keypair()
    admin.call("HERODB", "PUBKEYADD", 5, public, "read")
    w = Wire(hd.port)
    nonce = w.call("CHALLENGE") if case != "no-challenge" else b"0" * 64
    signer = nacl.signing.SigningKey.generate() if case == "wrong-key" else key
    sig = signer.sign(nonce).signature.hex()
    if case == "tampered":
        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    who = keypair()[1] if case == "unknown-key" else public
    if case == "reused-nonce":
        assert w.call("AUTH", who, sig) == "OK"
        w.call("RESET")
    reply = w.call("AUTH", who, sig)
    expected = {"no-challenge": "no challenge to answer", "wrong-key": "does not verify",
                "reused-nonce": "no challenge to answer", "unknown-key": "does not verify",
                "tampered": "does not verify"}[case]
    assert isinstance(reply, Err) and reply.text.startswith("WRONGPASS") and expected in reply.text
    assert w.call("GET", "x") == Err("NOAUTH Authentication required.")
    w.close()


def test_a_key_without_rights_is_refused_and_admin_on_0_is_server_admin(hd, admin):
    key, public = keypair()
    w = Wire(hd.port)
    assert "no permission on any database" in login(w, key).text
    admin.call("HERODB", "PUBKEYADD", 0, public, "admin")
    assert login(w, key) == "OK"
    assert w.call("HERODB", "DBLIST") == [[5, b"private", 0], [6, b"private", 0]]
    w.close()


def test_admin_on_one_database_manages_only_that_database(hd, admin):
    key, public = keypair()
    admin.call("HERODB", "PUBKEYADD", 5, public, "admin")
    w = Wire(hd.port)
    assert login(w, key) == "OK"
    assert w.call("SELECT", 5) == "OK"  # HERODB runs in a database the key administers
    access_key = w.call("HERODB", "KEYCREATE", 5, "read")
    assert isinstance(access_key, bytes) and len(access_key) == 64
    assert w.call("HERODB", "DBPUBLIC", 5) == "OK"
    assert w.call("SET", "a", 1) == "OK"
    for argv in (("HERODB", "KEYCREATE", 6, "read"), ("HERODB", "DBDELETE", 5),
                 ("HERODB", "DBCREATE", 7), ("HERODB", "PUBKEYADD", 6, public, "admin")):
        assert w.call(*argv).text.startswith("NOPERM 'herodb"), argv
    assert w.call("FLUSHALL").text.startswith("NOPERM 'flushall' needs admin rights")
    w.close()


@pytest.mark.parametrize("argv, message", [
    (("HERODB", "PUBKEYADD", 5, "abc", "read"), "a public key is 64 hex characters"),
    (("HERODB", "PUBKEYADD", 5, "a" * 64, "owner"), "must be read, readwrite or admin"),
    (("HERODB", "PUBKEYADD", 9, "a" * 64, "read"), "database 9 is not registered"),
])
def test_pubkey_admin_errors(admin, argv, message):
    reply = admin.call(*argv)
    assert isinstance(reply, Err) and message in reply.text


def test_the_secret_auth_still_works(hd, admin):
    access_key = admin.call("HERODB", "KEYCREATE", 5, "readwrite")
    r = redis.Redis(port=hd.port, db=5, username="5", password=access_key)
    r.set("via-access-key", 1)
    assert r.get("via-access-key") == b"1"
    r.close()
