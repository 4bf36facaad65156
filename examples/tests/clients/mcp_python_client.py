"""A real MCP client nobody here wrote, the Python SDK (`mcp` on PyPI), against sisk's mcp-conformance
example: it initializes, calls a tool with progress over SSE, gets log notifications, reads a resource,
and prints what it saw as one JSON line for examples/tests/mcp_clients.rs to check."""

import asyncio
import json
import sys

from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str) -> None:
    seen = {"progress": [], "logs": []}

    async def on_progress(progress, total, message):
        seen["progress"].append([progress, total])

    async def on_log(params):
        seen["logs"].append(params.data)

    async with streamable_http_client(url) as (read, write, *_):
        async with ClientSession(read, write, logging_callback=on_log) as session:
            initialized = await session.initialize()
            seen["server"] = initialized.server_info.name
            seen["protocol"] = initialized.protocol_version
            result = await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            seen["progress_result"] = result.content[0].text
            result = await session.call_tool("test_tool_with_logging", {})
            seen["logging_result"] = result.content[0].text
            resource = await session.read_resource("test://static-text")
            seen["resource"] = resource.contents[0].text
            failed = await session.call_tool("test_error_handling", {})
            seen["error_is_error"] = failed.is_error
    print(json.dumps(seen))


asyncio.run(main(sys.argv[1]))
