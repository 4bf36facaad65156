"""A real MCP client nobody here wrote, the Python SDK (`mcp` on PyPI), against two mcp-cluster-node
processes behind the proxy of tests/tests/mcp_cluster_clients.rs, which moves it between the nodes. It
prints each progress step and what each phase ended with, one JSON line each, and waits for a line on
stdin between the phases:

1. a call whose connection the proxy cuts mid-call (the client resumes, through the proxy, on the other
   node);
2. a call whose node is killed mid-call (it fails by its timeout);
3. a call and a resource read in the same session, on the node left."""

import asyncio
import json
import sys

from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


def say(**fields):
    print(json.dumps(fields), flush=True)


async def on_progress(progress, total, message):
    say(progress=progress)


async def main(url: str) -> None:
    async with streamable_http_client(url) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("count", {"to": 20, "every_ms": 50}, progress_callback=on_progress)
            say(phase="resumed", text=result.content[0].text)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            try:
                await session.call_tool(
                    "count", {"to": 100000, "every_ms": 20}, read_timeout_seconds=4, progress_callback=on_progress
                )
                say(phase="killed", outcome="answered")
            except Exception:
                say(phase="killed", outcome="failed")
            result = await session.call_tool("count", {"to": 3, "every_ms": 1}, progress_callback=on_progress)
            resource = await session.read_resource("notes://board")
            say(phase="after", text=result.content[0].text, resource=resource.contents[0].text)


asyncio.run(main(sys.argv[1]))
