"""SYM and AGE through redis-py against real HeroDB subprocesses; interop with pyrage and pynacl
used directly (a file AGE ENCRYPT made decrypts with pyrage and the other way round)."""
from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import pyrage
import pytest
import redis
from procs import HeroDB, start_herodb
from pyrage import x25519

SECRET = "crypto-admin-secret"


@pytest.fixture(scope="module")
def hd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeroDB]:
    d = tmp_path_factory.mktemp("crypto")
    server = start_herodb(d / "data", logs=d)
    yield server
    server.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def r(hd: HeroDB) -> Iterator[redis.Redis]:
    client = redis.Redis(port=hd.port)
    client.flushall()
    yield client
    client.close()


def test_sym_round_trip_and_tampering(r):
    key = r.execute_command("SYM", "KEYGEN")
    assert len(base64.b64decode(key)) == 32
    sealed = r.execute_command("SYM", "ENCRYPT", key, b"attack at dawn\x00\xff")
    assert r.execute_command("SYM", "DECRYPT", key, sealed) == b"attack at dawn\x00\xff"
    assert r.execute_command("SYM", "ENCRYPT", key, b"x") != r.execute_command(
        "SYM", "ENCRYPT", key, b"x")  # a fresh 192-bit nonce every time
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 1
    with pytest.raises(redis.ResponseError, match="does not decrypt with this key"):
        r.execute_command("SYM", "DECRYPT", key, base64.b64encode(bytes(raw)))
    other = r.execute_command("SYM", "KEYGEN")
    with pytest.raises(redis.ResponseError, match="does not decrypt with this key"):
        r.execute_command("SYM", "DECRYPT", other, sealed)


@pytest.mark.parametrize("argv, message", [
    (("SYM", "ENCRYPT", "not base64!", "m"), "the key is not valid base64"),
    (("SYM", "ENCRYPT", base64.b64encode(b"short"), "m"), "the key must be 32 bytes"),
    (("SYM", "DECRYPT", base64.b64encode(b"k" * 32), "@@"), "ciphertext is not valid base64"),
    (("SYM", "FROB"), "usage: SYM KEYGEN"),
    (("AGE", "ENCRYPT", "age1nope", "m"), "not an age X25519 recipient"),
    (("AGE", "DECRYPT", "AGE-SECRET-KEY-1NOPE", "x"), "not an age X25519 identity"),
    (("AGE", "SIGN", base64.b64encode(b"k"), "m"), "a signing key is 32 bytes"),
    (("AGE", "DECRYPTNAME", "ghost", "x"), "no named key 'ghost' in database 0"),
    (("AGE", "KEYGEN", "bad name!"), "a key name is 1 to 64"),
    (("AGE", "ENCRYPT", "only-one-arg"), "usage: AGE GENENC"),
])
def test_bad_input_is_one_clear_error(r, argv, message):
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*argv)


def test_age_files_interoperate_with_pyrage_both_ways(r):
    recipient, identity = r.execute_command("AGE", "GENENC")
    assert recipient.startswith(b"age1") and identity.startswith(b"AGE-SECRET-KEY-1")
    armored = r.execute_command("AGE", "ENCRYPT", recipient, b"for pyrage")
    assert armored.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert pyrage.decrypt(armored, [x25519.Identity.from_str(identity.decode())]) == b"for pyrage"
    mine = x25519.Identity.generate()
    binary = pyrage.encrypt(b"from pyrage", [mine.to_public()])
    for form in (binary, base64.b64encode(binary),
                 pyrage.encrypt(b"from pyrage", [mine.to_public()], armored=True)):
        assert r.execute_command("AGE", "DECRYPT", str(mine), form) == b"from pyrage"
    with pytest.raises(redis.ResponseError, match="does not decrypt with this identity"):
        r.execute_command("AGE", "DECRYPT", identity, binary)


def test_signatures_are_plain_ed25519(r):
    verify_key, signing_key = r.execute_command("AGE", "GENSIGN")
    sig = r.execute_command("AGE", "SIGN", signing_key, b"message")
    nacl.signing.VerifyKey(base64.b64decode(verify_key)).verify(b"message", base64.b64decode(sig))
    assert r.execute_command("AGE", "VERIFY", verify_key, b"message", sig) == 1
    assert r.execute_command("AGE", "VERIFY", verify_key, b"messagE", sig) == 0


def test_named_keys_encrypt_decrypt_sign_verify_and_list_only_public_parts(r, hd):
    recipient, verify_key = r.execute_command("AGE", "KEYGEN", "app")
    with pytest.raises(redis.ResponseError, match="already exists"):
        r.execute_command("AGE", "KEYGEN", "app")
    sealed = r.execute_command("AGE", "ENCRYPTNAME", "app", b"hello")
    assert r.execute_command("AGE", "DECRYPTNAME", "app", sealed) == b"hello"
    outside = pyrage.encrypt(b"to the server", [x25519.Recipient.from_str(recipient.decode())])
    assert r.execute_command("AGE", "DECRYPTNAME", "app", outside) == b"to the server"
    sig = r.execute_command("AGE", "SIGNNAME", "app", b"doc")
    nacl.signing.VerifyKey(base64.b64decode(verify_key)).verify(b"doc", base64.b64decode(sig))
    assert r.execute_command("AGE", "VERIFYNAME", "app", b"doc", sig) == 1
    assert r.execute_command("AGE", "LIST") == [[b"app", recipient, verify_key]]
    # the private parts are sealed: nothing in the admin database nor on disk shows them
    blobs = [v for k in r.keys("herodb:*") for v in r.hvals(k)]
    assert blobs and not any(b"AGE-SECRET-KEY" in v or b"signing" in v for v in blobs)
    for p in Path(hd.dir).rglob("*"):
        if p.is_file():
            assert b"AGE-SECRET-KEY" not in p.read_bytes()
    assert r.execute_command("AGE", "DELETE", "app") == 1
    assert r.execute_command("AGE", "LIST") == []


def test_named_keys_survive_kill_9_and_need_the_same_secret(tmp_path):
    data = tmp_path / "data"
    server = start_herodb(data, "--admin-secret", SECRET, logs=tmp_path)
    try:
        r = redis.Redis(port=server.port, password=SECRET)
        r.execute_command("AGE", "KEYGEN", "durable")
        sealed = r.execute_command("AGE", "ENCRYPTNAME", "durable", b"kept")
    finally:
        server.kill()
    server = start_herodb(data, "--admin-secret", SECRET, logs=tmp_path)
    try:
        r = redis.Redis(port=server.port, password=SECRET)
        assert r.execute_command("AGE", "DECRYPTNAME", "durable", sealed) == b"kept"
    finally:
        server.stop()
    server = start_herodb(data, "--admin-secret", "another-secret", logs=tmp_path)
    try:
        r = redis.Redis(port=server.port, password="another-secret")
        with pytest.raises(redis.ResponseError, match="sealed with another secret"):
            r.execute_command("AGE", "DECRYPTNAME", "durable", sealed)
    finally:
        server.stop()


def test_named_keys_belong_to_a_database_and_private_use_needs_readwrite(tmp_path):
    server = start_herodb(tmp_path / "data", "--admin-secret", SECRET, logs=tmp_path)
    try:
        admin = redis.Redis(port=server.port, password=SECRET)
        for n in (5, 6):
            admin.execute_command("HERODB", "DBCREATE", n)
        rw = admin.execute_command("HERODB", "KEYCREATE", 5, "readwrite").decode()
        ro = admin.execute_command("HERODB", "KEYCREATE", 5, "read").decode()
        six = admin.execute_command("HERODB", "KEYCREATE", 6, "readwrite").decode()
        writer = redis.Redis(port=server.port, db=5, username="5", password=rw)
        recipient, verify_key = writer.execute_command("AGE", "KEYGEN", "ctx")
        reader = redis.Redis(port=server.port, db=5, username="5", password=ro)
        sealed = reader.execute_command("AGE", "ENCRYPTNAME", "ctx", b"m")
        sig = writer.execute_command("AGE", "SIGNNAME", "ctx", b"m")
        assert reader.execute_command("AGE", "VERIFYNAME", "ctx", b"m", sig) == 1
        assert reader.execute_command("AGE", "LIST") == [[b"ctx", recipient, verify_key]]
        for argv in (("AGE", "DECRYPTNAME", "ctx", sealed), ("AGE", "SIGNNAME", "ctx", "m"),
                     ("AGE", "KEYGEN", "mine"), ("AGE", "DELETE", "ctx")):
            with pytest.raises(redis.ResponseError, match="uses a private key"):
                reader.execute_command(*argv)
        stranger = redis.Redis(port=server.port, db=6, username="6", password=six)
        with pytest.raises(redis.ResponseError, match="no named key 'ctx' in database 6"):
            stranger.execute_command("AGE", "DECRYPTNAME", "ctx", sealed)
        assert stranger.execute_command("AGE", "LIST") == []
        assert writer.execute_command("AGE", "DECRYPTNAME", "ctx", sealed) == b"m"
    finally:
        server.stop()
