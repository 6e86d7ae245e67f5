"""A real API server and Debian's chromium driven by Playwright (no browser download)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "api"))

from apiproc import start_api  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# evil.example resolves to this machine: a page of another site (and a rebound DNS name)
# without any network
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run",
        "--host-resolver-rules=MAP evil.example 127.0.0.1"]


@pytest.fixture(scope="session")
def leaf_api(cluster, hero_settings, tmp_path_factory):
    proc = start_api(hero_settings, tmp_path_factory.mktemp("leaf-api") / "api.log")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()
