"""Wire efficiency: no per-connection permessage-deflate unless asked for."""

from __future__ import annotations

import aiohttp

HANDSHAKE = "/socket.io/?EIO=4&transport=websocket"


async def negotiated(url: str) -> str:
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(url.replace("http", "ws") + HANDSHAKE, compress=15)
        ext = ws._response.headers.get("Sec-WebSocket-Extensions", "")
        await ws.close()
        return ext


async def test_deflate_is_declined_by_default(mem_server) -> None:
    assert "permessage-deflate" not in await negotiated(mem_server.url)


async def test_deflate_when_enabled(make_server) -> None:
    server = await make_server(ws_compression=True)
    assert "permessage-deflate" in await negotiated(server.url)
