"""Server-sent events: every status change published on the flows' channels, streamed as
`data: {json}` lines. One pub/sub connection per stream; a comment line every 15 s keeps
proxies from closing an idle stream."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis

from ..keys import Keys

KEEPALIVE_S = 15.0


async def stream(store_url: str, flow_id: str | None,
                 allow: Callable[[str], Awaitable[bool]] | None = None
                 ) -> AsyncIterator[str]:
    """SSE text chunks of one flow's events (or every flow's when flow_id is None); with
    `allow`, only events of flows for which allow(flow_id) is true (cached per flow)."""
    client = aioredis.Redis.from_url(store_url, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        if flow_id is None:
            await pubsub.psubscribe(Keys.events_pattern())
        else:
            await pubsub.subscribe(Keys.events(flow_id))
        yield "retry: 1000\n: connected\n\n"
        idle = 0.0
        allowed: dict[str, bool] = {}
        while True:
            msg = await pubsub.get_message(timeout=1.0)
            if msg is None:
                idle += 1.0
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keepalive\n\n"
                continue
            idle = 0.0
            data = msg.get("data")
            if not isinstance(data, str):
                continue
            if allow is not None:
                fid = str(msg.get("channel", "")).rsplit(":", 1)[-1]
                if fid not in allowed:
                    allowed[fid] = await allow(fid)
                if not allowed[fid]:
                    continue
            yield f"data: {data}\n\n"
    finally:
        try:
            await pubsub.aclose()
            await client.aclose()
        except Exception:  # noqa: BLE001 - the stream is over either way
            pass
