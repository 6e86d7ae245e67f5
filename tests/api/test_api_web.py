"""No remote code execution from a web page (issue 19.1), against a real API server and real
workers: a page of another origin is refused whatever it sends, a request without a key
must come from this machine's own user and name a loopback Host, and leaf's page carries its
session only for that user's own navigation."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from herocelery.client import HeroClient

EVIL = "http://evil.example"


def shell_flow(name: str, marker: Path) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": "flow.submit",
            "params": {"flow": {"name": name, "jobs": {
                "pwn": {"runner": "shell", "script": f"touch {marker}"}}}}}


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/rpc", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    """(status, body, headers: a case-insensitive mapping)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


def names(api) -> set[str]:
    return {f["name"] for f in HeroClient(api.url).flows(1000)}


def test_a_cross_origin_text_plain_submit_runs_nothing(api, tmp_path):
    """The reported attack: `Origin: http://evil.example`, `Content-Type: text/plain` (a
    simple request a page sends without a preflight), flow.submit of a shell job."""
    marker = tmp_path / "pwned"
    attack = json.dumps(shell_flow("evil-text", marker)).encode()
    code, body = post(api.url, attack, {"Origin": EVIL, "Content-Type": "text/plain"})
    assert code == 403 and "evil.example" in body["error"]["message"]
    assert "api_cors_origins" in body["error"]["message"]
    code, body = post(api.url, json.dumps(shell_flow("evil-json", marker)).encode(),
                      {"Origin": EVIL, "Content-Type": "application/json"})
    assert code == 403                       # a JSON body does not make a foreign page welcome
    code, body = post(api.url, attack, {"Content-Type": "text/plain"})
    assert code == 415                       # and no program sends a non-JSON body either
    # the same job, sent the way a local program does, runs: the workers are there
    control = tmp_path / "control"
    hc = HeroClient(api.url)
    fid = hc.submit(shell_flow("control", control)["params"]["flow"])["flow_id"]
    assert hc.wait(fid, 60) == "finished" and control.exists()
    assert not marker.exists()
    assert not {"evil-text", "evil-json"} & names(api)


def test_a_rebound_dns_name_gets_nothing_without_a_key(api, tmp_path):
    """A page whose own name now resolves to 127.0.0.1 is same-origin with the API under that
    name; its Host header still says evil.example."""
    port = api.url.rsplit(":", 1)[1]
    marker = tmp_path / "pwned"
    code, body = post(api.url, json.dumps(shell_flow("rebound", marker)).encode(),
                      {"Host": f"evil.example:{port}", "Content-Type": "application/json",
                       "Origin": f"{EVIL}:{port}"})
    assert code == 401 and "Host header" in body["error"]["message"]
    status, page, _ = get(api.url + "/leaf/", {"Host": f"evil.example:{port}"})
    assert status == 200 and session_of(page) is None
    status, text, _ = get(api.url + "/metrics", {"Host": f"evil.example:{port}"})
    assert status == 401
    assert "rebound" not in names(api) and not marker.exists()


def session_of(page: str) -> str | None:
    m = re.search(r'<meta name="herocelery-session" content="([^"]+)">', page)
    return m.group(1) if m else None


def test_leaf_page_carries_its_session_only_for_the_local_users_navigation(api):
    status, page, headers = get(api.url + "/leaf/")
    token = session_of(page)
    assert status == 200 and token
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    for foreign in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        assert session_of(get(api.url + "/leaf/", foreign)[1]) is None, foreign
    assert session_of(get(api.url + "/leaf/", {"Sec-Fetch-Site": "none"})[1]) == token
    # a browser request: with the session it is the local admin, without it refused
    browser = {"Content-Type": "application/json", "Origin": api.url}
    listing = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "flow.list"}).encode()
    code, body = post(api.url, listing, {**browser, "X-Herocelery-Session": token})
    assert code == 200 and "flows" in body["result"]
    code, body = post(api.url, listing, browser)
    assert code == 401 and body["id"] == 5 and "web page needs an API key" in \
        body["error"]["message"]
    code, body = post(api.url, listing, {**browser, "X-Herocelery-Session": "forged"})
    assert code == 401 and "reload /leaf/" in body["error"]["message"]


def test_cors_allows_no_other_origin_by_default(api):
    req = urllib.request.Request(api.url + "/rpc", method="OPTIONS", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            allowed = resp.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as exc:
        allowed = exc.headers.get("Access-Control-Allow-Origin")
    assert allowed is None
    _, _, headers = get(api.url + "/leaf/client.js", {"Origin": EVIL})
    assert headers.get("Access-Control-Allow-Origin") is None


@pytest.fixture
def as_nobody():
    """A Python subprocess (Debian's python3: the test venv may sit in root's home) running as
    the unprivileged user `nobody` (needs root)."""
    if os.getuid() != 0:
        pytest.skip("switching to another Unix user needs root")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    def run(code: str) -> str:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True,
                             timeout=30, preexec_fn=lambda: (os.setgid(65534),
                                                             os.setuid(65534)),
                             cwd="/", env={"PATH": os.environ.get("PATH", "/usr/bin")})
        assert out.returncode == 0, out.stderr
        return out.stdout
    return run


def test_another_unix_user_on_this_machine_needs_a_key(api, as_nobody):
    out = as_nobody(f"""
import json, urllib.request, urllib.error
url = {api.url!r}
req = urllib.request.Request(url + "/rpc", method="POST", headers={{"Content-Type":
      "application/json"}}, data=json.dumps({{"jsonrpc": "2.0", "id": 9,
      "method": "flow.list"}}).encode())
try:
    urllib.request.urlopen(req, timeout=10)
    print("ALLOWED")
except urllib.error.HTTPError as exc:
    print(exc.code, json.loads(exc.read())["error"]["message"])
page = urllib.request.urlopen(url + "/leaf/", timeout=10).read().decode()
print("SESSION" if '<meta name="herocelery-session"' in page else "NO-SESSION")
""")
    first, second = out.strip().splitlines()
    assert first.startswith("401 ") and f"uid {os.getuid()}" in first
    assert second == "NO-SESSION"
    assert HeroClient(api.url).flows(1) is not None          # the API's own user gets in
