// The TypeScript SDK floor: a bare McpServer named "floor" with one no-op tool, over stdio.
// The cross-language peer of bench/floor.py, spawned by bench/peers.py.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const server = new McpServer({ name: "floor", version: "1.0.0" });

server.registerTool("noop", { description: "Do nothing." }, async () => ({
  content: [{ type: "text", text: "ok" }],
}));

await server.connect(new StdioServerTransport());
