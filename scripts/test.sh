#!/usr/bin/env bash
# Installs what the tests need (Debian's redis-server, chromium, gcc and nodejs, the package
# with its dev extra), checks types and lint (mypy, ruff: either failing stops here, before
# any test), and runs the whole test suite, then the fault-injection suite. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v gcc >/dev/null 2>&1 || need+=(gcc)   # builds the C accelerators the tests check
command -v node >/dev/null 2>&1 || need+=(nodejs)   # runs the JavaScript client's tests
if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
# the gate: types and lint first, so a red check fails in a minute, not after the tests
# (configuration: [tool.mypy] and [tool.ruff] in pyproject.toml)
python3 -m mypy herocelery
python3 -m ruff check
python3 -m pytest -p no:celery -q "$@"
# Then HeroDB's suite again on its Python reference path (HEROCELERY_PURE_PYTHON=1: the
# Python request loop and parser instead of the C accelerator, issue 17.6; ~6 more minutes),
# and the fault-injection suite (tests/faults: real processes killed, paused and restarted on
# purpose, a few minutes), each as its own step once everything else passed.
if [ "$#" -eq 0 ]; then
  HEROCELERY_PURE_PYTHON=1 python3 -m pytest -p no:celery -q tests/herodb
  exec python3 -m pytest -p no:celery -q -m faults tests/faults
fi
