"""Contexts tests: the fixtures live in ctx_fixtures (shared with tests/osis)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ctx_fixtures import registry, run_cli, secure_cluster, secure_herodb, secure_settings  # noqa: E402,F401
