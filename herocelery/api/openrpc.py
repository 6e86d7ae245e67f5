"""The OpenRPC document of the API, generated from the method table (answers rpc.discover)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .rpc import Method

OPENRPC_VERSION = "1.2.6"


def document(methods: Mapping[str, Method], *, version: str, url: str = "/rpc"
             ) -> dict[str, Any]:
    """An OpenRPC 1.2 document listing every method with its params schema. Pure."""
    out = []
    for m in methods.values():
        schema = m.params.model_json_schema()
        required = set(schema.get("required", []))
        params = [{"name": name, "required": name in required, "schema": prop,
                   **({"description": prop["description"]} if "description" in prop else {})}
                  for name, prop in schema.get("properties", {}).items()]
        out.append({"name": m.name, "summary": m.summary, "params": params,
                    "paramStructure": "either",
                    "result": {"name": "result", "schema": dict(m.result)},
                    "x-scope": m.scope})
    out.append({"name": "rpc.discover", "summary": "This document.", "params": [],
                "result": {"name": "OpenRPC Schema", "schema": {"type": "object"}}})
    return {"openrpc": OPENRPC_VERSION,
            "info": {"title": "herocelery", "version": version,
                     "description": "Flows of jobs through coordinator, supervisors and "
                                    "runners. Auth: Authorization: Bearer <api key>."},
            "servers": [{"name": "herocelery", "url": url}],
            "methods": out}
