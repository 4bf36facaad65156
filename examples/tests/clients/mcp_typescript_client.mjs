// A real MCP client nobody here wrote, the TypeScript SDK (`@modelcontextprotocol/sdk` from the npm
// registry), against sisk's mcp-conformance example: it initializes, calls a tool with progress over SSE,
// gets log notifications, reads a resource, and prints what it saw as one JSON line for
// examples/tests/mcp_clients.rs to check. Arguments: the endpoint's URL, and the folder whose
// node_modules holds the SDK.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [url, packages] = process.argv.slice(2);
const sdk = (path) => import(pathToFileURL(join(packages, "node_modules/@modelcontextprotocol/sdk/dist/esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { LoggingMessageNotificationSchema } = await sdk("types.js");

const seen = { progress: [], logs: [] };
const client = new Client({ name: "sisk-typescript-check", version: "1.0.0" }, { capabilities: {} });
client.setNotificationHandler(LoggingMessageNotificationSchema, (note) => seen.logs.push(note.params.data));
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);
seen.server = client.getServerVersion().name;
seen.session = transport.sessionId;
let result = await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, {
  onprogress: (p) => seen.progress.push([p.progress, p.total]),
});
seen.progress_result = result.content[0].text;
result = await client.callTool({ name: "test_tool_with_logging", arguments: {} });
seen.logging_result = result.content[0].text;
const resource = await client.readResource({ uri: "test://static-text" });
seen.resource = resource.contents[0].text;
const failed = await client.callTool({ name: "test_error_handling", arguments: {} });
seen.error_is_error = failed.isError === true;
await transport.terminateSession();
await client.close();
console.log(JSON.stringify(seen));
