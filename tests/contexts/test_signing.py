"""Ed25519 job signatures: canonical form, verification, forged and tampered jobs refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from herocelery.contexts import SigningKey
from herocelery.contexts.signing import canonical, check, sign_spec, verify_one
from herocelery.errors import ConfigError
from herocelery.flow import Flow

JOB = dict(context="team", name="a", runner="python", script="result = 1",
           args={"x": 1}, env={"E": "v"}, after=["b", "c"])


def test_canonical_form_is_stable_and_ignores_order_of_prerequisites() -> None:
    assert canonical(**JOB) == canonical(**{**JOB, "after": ["c", "b"]})
    assert canonical(**JOB) == canonical(**{**JOB, "args": {"x": 1}})


@pytest.mark.parametrize("field,value", [("context", "other"), ("name", "z"),
                                         ("runner", "shell"), ("script", "result = 2"),
                                         ("args", {"x": 2}), ("env", {"E": "w"}),
                                         ("after", ["b"])])
def test_changing_any_signed_field_breaks_the_signature(field: str, value: object) -> None:
    key = SigningKey.generate()
    sig = key.sign(canonical(**JOB))
    assert verify_one(sig, canonical(**JOB)) is None
    why = verify_one(sig, canonical(**{**JOB, field: value}))
    assert why is not None and "does not match" in why


def test_a_forged_signature_claiming_another_public_key_is_refused() -> None:
    honest, forger = SigningKey.generate(), SigningKey.generate()
    forged = forger.sign(canonical(**JOB))
    forged["public_key"] = honest.public_hex
    signatories, why = check([forged], canonical(**JOB), required=True)
    assert signatories == [] and "signature 1" in why and "does not match" in why


@pytest.mark.parametrize("sig,expected", [
    ({"alg": "rsa", "public_key": "00", "signature": "00"}, "unsupported alg"),
    ({"public_key": "zz", "signature": "00"}, "malformed"),
    ({"signature": "00"}, "malformed"),
    ("not a mapping", "not an object"),
])
def test_malformed_signatures_are_refused_with_a_reason(sig: object, expected: str) -> None:
    signatories, why = check([sig], canonical(**JOB), required=False)  # type: ignore[list-item]
    assert signatories == [] and expected in why


def test_required_signatures_and_allowed_signers() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    data = canonical(**JOB)
    assert check([], data, required=False) == ([], None)
    assert "requires signed jobs" in check([], data, required=True, context="team")[1]
    assert check([a.sign(data)], data, required=True) == ([a.public_hex], None)
    ok = check([a.sign(data), b.sign(data)], data, required=True,
               signers=frozenset({b.public_hex}))
    assert ok == ([a.public_hex, b.public_hex], None)
    refused = check([a.sign(data)], data, required=True, signers=frozenset({b.public_hex}))
    assert refused[0] == [] and "only from its signers" in refused[1]


def test_one_bad_signature_among_good_ones_refuses_the_job() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    data = canonical(**JOB)
    bad = b.sign(canonical(**{**JOB, "script": "evil()"}))
    assert "signature 2" in check([a.sign(data), bad], data, required=False)[1]


def test_key_files_round_trip_as_pem_and_as_hex_seed(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key.save(tmp_path / "k.pem")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert SigningKey.load(tmp_path / "k.pem").public_hex == key.public_hex
    from cryptography.hazmat.primitives import serialization
    seed = key.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption()).hex()
    (tmp_path / "k.hex").write_text(seed + "\n")
    assert SigningKey.load(tmp_path / "k.hex").public_hex == key.public_hex


@pytest.mark.parametrize("content", [b"", b"hello", b"-----BEGIN PRIVATE KEY-----\nxx\n"])
def test_bad_key_files_are_config_errors_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="bad.key"):
        SigningKey.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        SigningKey.load(tmp_path / "missing.key")


def test_flow_sign_and_sign_spec_give_the_same_verifiable_signatures() -> None:
    key = SigningKey.generate()
    f = Flow("signed", context="team")
    f.job("a", script="result = 1")
    f.job("b", after="a", runner="shell", script="echo hi", env={"K": "v"})
    unsigned = f.spec()
    f.sign(key)
    f.sign(key)  # signing twice keeps one signature per key
    spec = f.spec()
    for name, js in spec.jobs.items():
        assert len(js.signatures) == 1
        data = canonical(context="team", name=name, runner=js.runner, script=js.script,
                         args=js.args, env=js.env, after=js.after)
        assert check(js.signatures, data, required=True) == ([key.public_hex], None)
    assert sign_spec(unsigned, key).jobs["b"].signatures[0]["public_key"] == key.public_hex
