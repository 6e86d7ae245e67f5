"""Flows written in HeroScript (HEROSCRIPT.md §7) -> the same dict as a YAML flow file.

    !!flow.define name:etl context:default
    !!flow.job name:double runner:rhai after:extract,load retries:2 timeout:30s
        node:node1 allow_failure:true retry_backoff:2s
        env:'A:1,B:two'                 // or JSON text: env:'{"A": "1"}'
        args:'{"limit": 10}'            // JSON text keeps types; k:v,... gives strings
        script:'
            ...
            '

Durations (`timeout`, `retry_backoff`) accept `30s`, `5m`, `1h30m`, `250ms` or plain
seconds. `allow_failure` is true/yes/y/1 or false/no/n/0. A script that itself holds a
line with only `'` (e.g. a heroscript job with a multi-line value) opens with
`script:'''`. Only given keys appear in the dict; the flow loader validates it with the
same code as YAML. Every problem is a HeroScriptError at the offending action or param.
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import HeroScriptError
from .model import Action
from .parser import parse
from .typed import check_known, to_duration, to_int, to_list

DEFINE_KEYS = frozenset({"name", "context"})
JOB_KEYS = frozenset({"name", "runner", "script", "after", "retries", "retry_backoff",
                      "timeout", "node", "allow_failure", "env", "args"})
BOOL_WORDS = {"true": True, "yes": True, "y": True, "1": True,
              "false": False, "no": False, "n": False, "0": False}


def _no_args(a: Action) -> None:
    if a.args:
        hint = f"; did you mean {a.args[0]}:true?" if ":" not in a.args[0] else ""
        raise a.error(f"!!{a.full_name}: unexpected positional argument {a.args[0]!r}{hint}")


def _mapping(a: Action, key: str, *, strings: bool) -> dict[str, Any]:
    text = a.params[key].strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise a.error(f"param {key!r}: invalid JSON: {exc.msg} (column {exc.colno})",
                          key) from None
        if not isinstance(data, dict):
            raise a.error(f"param {key!r}: must be a JSON object", key)
        if strings:
            data = {str(k): v if isinstance(v, str) else json.dumps(v)
                    for k, v in data.items()}
        return data
    out: dict[str, Any] = {}
    for item in to_list(text):
        k, sep, v = item.partition(":")
        if not sep or not k.strip():
            raise a.error(f"param {key!r}: item {item!r} is not key:value (or use JSON)", key)
        out[k.strip()] = v.strip()
    return out


def _job(a: Action) -> tuple[str, dict[str, Any]]:
    _no_args(a)
    check_known(a, JOB_KEYS)
    p = a.params
    for required in ("name", "runner"):
        if not p.get(required, "").strip():
            raise a.error(f"!!flow.job needs {required}:...", required if required in p
                          else None)
    job: dict[str, Any] = {"runner": p["runner"].strip()}
    for key, value in p.items():
        try:
            if key in ("name", "runner"):
                continue
            if key == "script":
                job["script"] = value
            elif key == "after":
                job["after"] = to_list(value)
            elif key == "retries":
                job["retries"] = to_int(value)
            elif key in ("timeout", "retry_backoff"):
                job[key] = to_duration(value)
            elif key == "node":
                job["node"] = value.strip()
            elif key == "allow_failure":
                word = value.strip().lower()
                if word not in BOOL_WORDS:
                    raise ValueError(f"{value!r} is not true or false")
                job["allow_failure"] = BOOL_WORDS[word]
            elif key in ("env", "args"):
                job[key] = _mapping(a, key, strings=key == "env")
        except ValueError as exc:
            raise a.error(f"param {key!r}: {exc}", key) from None
    return p["name"].strip(), job


def flow_spec_from_heroscript(text: str, source: str) -> dict[str, Any]:
    """The flow dict (`name`, optional `context`, `jobs`) of a HeroScript flow file."""
    spec: dict[str, Any] | None = None
    jobs: dict[str, dict[str, Any]] = {}
    for a in parse(text, source):
        if a.actor != "flow" or a.name not in ("define", "job"):
            raise a.error(f"unknown action !!{a.full_name} in a flow file "
                          "(use !!flow.define and !!flow.job)")
        if a.name == "define":
            if spec is not None:
                raise a.error("!!flow.define given twice")
            _no_args(a)
            check_known(a, DEFINE_KEYS)
            name = a.params.get("name", "").strip()
            if not name:
                raise a.error("!!flow.define needs name:...")
            spec = {"name": name}
            if "context" in a.params:
                spec["context"] = a.params["context"].strip()
            continue
        name, job = _job(a)
        if name in jobs:
            raise a.error(f"job {name!r} defined twice", "name")
        jobs[name] = job
    if spec is None:
        raise HeroScriptError("missing !!flow.define name:... (a flow file needs one)",
                              file=source, line=1, column=1)
    spec["jobs"] = jobs
    return spec
