"""OSIS tests: the secure HeroDB and worker fixtures come from tests/contexts/ctx_fixtures."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "contexts"))

from ctx_fixtures import registry, run_cli, secure_cluster, secure_herodb, secure_settings  # noqa: E402,F401
