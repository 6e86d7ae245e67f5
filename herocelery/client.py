"""herolibs for Python: a small client of the herocelery JSON-RPC API (standard library only).

    from herocelery.client import HeroClient
    hc = HeroClient()              # this machine's installation: its API and its admin key
    flow_id = hc.submit(open("examples/etl.yaml").read())["flow_id"]
    hc.wait(flow_id, timeout=60)
    print(hc.flow_status(flow_id)["jobs"])

`HeroClient()` with no URL finds the local installation (`local_api`): the API of the
`herocelery up` running on the data directory, else the configured `api_host:api_port`;
the key is HEROCELERY_API_KEY, else the installation's `<data_dir>/admin.key`. With a URL,
the key is only what is passed (a local key is never sent elsewhere).

Guarantees: a JSON-RPC error comes back as `ApiError` (code, message); an unreachable server
as `ApiError` with code None; `events()` yields parsed event objects from the SSE stream.
"""
from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .errors import HeroCeleryError

if TYPE_CHECKING:
    from .settings import Settings

TERMINAL_FLOW = ("finished", "error", "cancelled")


class ApiError(HeroCeleryError):
    """The API answered with a JSON-RPC error, or could not be reached."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.data = code, data


def local_api(settings: Settings) -> tuple[str, str | None]:
    """(API URL, API key) of the installation on this machine (`herocelery.local`): the
    running `up`'s API, else the configured address; the configured key, else the data
    directory's admin key."""
    from .errors import NotRunning
    from .local import admin_key, api_endpoint
    try:
        return api_endpoint(settings)
    except NotRunning:
        return (f"http://{settings.api_host}:{settings.api_port}",
                settings.api_key or admin_key(settings.data_dir))


class HeroClient:
    """JSON-RPC client of one herocelery API server (no URL: this machine's installation,
    see the module docstring; `settings` then says where it is, default: the environment)."""

    def __init__(self, url: str | None = None, *, api_key: str | None = None,
                 timeout_s: float = 30.0, settings: Settings | None = None) -> None:
        if url is None:
            if settings is None:
                from .settings import Settings
                settings = Settings.load()        # the entry point: HEROCELERY_* variables
            url, found = local_api(settings)
            api_key = api_key or found
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call one method; its result, or ApiError."""
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                           "params": dict(params or {})}).encode()
        req = urllib.request.Request(self.url + "/rpc", data=body, headers=self._headers(),
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                reply = json.loads(exc.read())
            except ValueError:
                raise ApiError(f"{method}: HTTP {exc.code} from {self.url}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"cannot reach the herocelery API at {self.url}: "
                           f"{getattr(exc, 'reason', exc)}") from None
        if "error" in reply:
            err = reply["error"]
            raise ApiError(err.get("message", "error"), err.get("code"), err.get("data"))
        return reply.get("result")

    # ---- the methods ---------------------------------------------------------------------
    def discover(self) -> dict[str, Any]:
        return self.call("rpc.discover")

    def submit(self, flow: str | Mapping[str, Any], format: str = "auto") -> dict[str, Any]:
        """Submit a flow given as YAML/JSON/HeroScript text or as a mapping."""
        return self.call("flow.submit", {"flow": flow if isinstance(flow, str) else dict(flow),
                                         "format": format})

    def flow_status(self, flow_id: str) -> dict[str, Any]:
        return self.call("flow.status", {"flow_id": flow_id})

    def flows(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.call("flow.list", {"limit": limit})["flows"]

    def cancel(self, flow_id: str) -> list[str]:
        return self.call("flow.cancel", {"flow_id": flow_id})["cancelled"]

    def retry(self, flow_id: str) -> list[str]:
        return self.call("flow.retry", {"flow_id": flow_id})["retrying"]

    def graph(self, flow_id: str) -> dict[str, Any]:
        return self.call("flow.graph", {"flow_id": flow_id})

    def job_status(self, job_id: str) -> dict[str, Any]:
        return self.call("job.status", {"job_id": job_id})

    def job_result(self, job_id: str) -> dict[str, Any]:
        return self.call("job.result", {"job_id": job_id})

    def job_logs(self, job_id: str) -> str:
        return self.call("job.logs", {"job_id": job_id})["logs"]

    def runners(self) -> dict[str, Any]:
        return self.call("runner.list")["nodes"]

    def metrics(self) -> str:
        req = urllib.request.Request(self.url + "/metrics", headers=self._headers())
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return resp.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"cannot read {self.url}/metrics: {exc}") from None

    def wait(self, flow_id: str, timeout: float = 60.0, poll_s: float = 0.1) -> str:
        """Poll until the flow ends; its final status. ApiError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.flow_status(flow_id)["status"]
            if status in TERMINAL_FLOW:
                return status
            if time.monotonic() > deadline:
                raise ApiError(f"flow {flow_id} still {status} after {timeout:g}s")
            time.sleep(poll_s)

    def events(self, flow_id: str | None = None, timeout_s: float | None = None,
               on_open: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
        """Events of one flow (or all flows) as they happen; a read waits at most `timeout_s`.
        `on_open` is called once the server is subscribed (no later event can be missed)."""
        path = "/events" + (f"/{flow_id}" if flow_id else "")
        req = urllib.request.Request(self.url + path, headers=self._headers())
        try:
            resp = urllib.request.urlopen(req, timeout=timeout_s or self.timeout_s)
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"cannot open {self.url}{path}: {exc}") from None
        with resp:
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if line == ": connected" and on_open is not None:
                    on_open()
                elif line.startswith("data: "):
                    yield json.loads(line[6:])
