// A real MCP client nobody here wrote, the TypeScript SDK (`@modelcontextprotocol/sdk` from the npm
// registry), against two mcp-cluster-node processes behind the proxy of tests/tests/mcp_cluster_clients.rs,
// which moves it between the nodes. It prints each progress step and what each phase ended with, one JSON
// line each, and waits for a line on stdin between the phases:
// 1. a call whose connection the proxy cuts mid-call (the client resumes, through the proxy, on the other
//    node);
// 2. a call whose node is killed mid-call (it fails by its timeout);
// 3. a call and a resource read in the same session, on the node left.
// Arguments: the endpoint's URL, and the folder whose node_modules holds the SDK.
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [url, packages] = process.argv.slice(2);
const sdk = (path) => import(pathToFileURL(join(packages, "node_modules/@modelcontextprotocol/sdk/dist/esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");

const say = (fields) => console.log(JSON.stringify(fields));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const onprogress = (p) => say({ progress: p.progress });

const client = new Client({ name: "sisk-typescript-cluster-check", version: "1.0.0" }, { capabilities: {} });
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);
let result = await client.callTool({ name: "count", arguments: { to: 20, every_ms: 50 } }, undefined, { onprogress });
say({ phase: "resumed", text: result.content[0].text });
await lines.next();
try {
  await client.callTool({ name: "count", arguments: { to: 100000, every_ms: 20 } }, undefined, { onprogress, timeout: 4000 });
  say({ phase: "killed", outcome: "answered" });
} catch {
  say({ phase: "killed", outcome: "failed" });
}
result = await client.callTool({ name: "count", arguments: { to: 3, every_ms: 1 } }, undefined, { onprogress });
const resource = await client.readResource({ uri: "notes://board" });
say({ phase: "after", text: result.content[0].text, resource: resource.contents[0].text });
await transport.terminateSession();
await client.close();
process.exit(0);
