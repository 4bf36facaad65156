"""The `websocket-chat` example through `websockets` (PyPI), a client nobody here wrote: the receive loop,
the server's receive timeout, close codes (the server's, the client's, a message too large), and the
chat between two clients. Prints what it saw as one line of JSON; the Rust test checks it."""

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

LIMIT = 10


async def main(base: str) -> None:
    seen = {}

    async with connect(base + "/echo") as ws:
        await ws.send("hi")
        seen["text"] = await asyncio.wait_for(ws.recv(), LIMIT)
        await ws.send(b"bytes")
        seen["binary"] = await asyncio.wait_for(ws.recv(), LIMIT)
        # Silence: the server's receive_message times out after 1 s; it says so, then closes.
        seen["after_silence"] = await asyncio.wait_for(ws.recv(), LIMIT)
        try:
            await asyncio.wait_for(ws.recv(), LIMIT)
        except ConnectionClosed:
            pass
        seen["server_close"] = ws.close_code

    async with connect(base + "/echo") as ws:
        await ws.send("bye")
        await asyncio.wait_for(ws.recv(), LIMIT)
        await asyncio.wait_for(ws.close(code=1000), LIMIT)
        seen["client_close"] = ws.close_code

    async with connect(base + "/echo") as ws:
        # The example accepts messages of 64 KiB at most.
        await ws.send("x" * (128 * 1024))
        try:
            await asyncio.wait_for(ws.recv(), LIMIT)
        except ConnectionClosed as closed:
            seen["too_large"] = closed.rcvd.code if closed.rcvd else None

    async with connect(base + "/chat") as a, connect(base + "/chat") as b:
        await asyncio.wait_for(a.recv(), LIMIT)  # welcome
        await asyncio.wait_for(b.recv(), LIMIT)
        await a.send("olá de Python")
        seen["chat_a"] = await asyncio.wait_for(a.recv(), LIMIT)
        seen["chat_b"] = await asyncio.wait_for(b.recv(), LIMIT)

    print(json.dumps(seen))


asyncio.run(main(sys.argv[1]))
