"""The Celery app Flower loads (`celery -A herocelery.flowerapp flower`, started by
`herocelery flower`): built from the Settings in its environment, so the broker's password
comes from `broker_secret_file` and is never on Flower's command line."""
from __future__ import annotations

from .celeryapp import make_app
from .hardening import not_dumpable
from .settings import Settings

not_dumpable()
app = make_app(Settings.load())
