// Runs the built component (npm test builds it first) with praxis-wasm's test kit: the same
// loader and host calls as the gateway, no gateway or upstream needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadFilter } from "praxis-wasm/testing";

const wasm = new URL("../dist/{{name}}.wasm", import.meta.url).pathname;
const header = (h: Array<[string, string]>, name: string) => h.find(([k]) => k === name)?.[1];

test("stamps a request that may pass", async () => {
  await using filter = await loadFilter(wasm, { config: { stamp: "checked" } });
  const r = await filter.run({ request: { method: "GET", path: "/hello" } });
  assert.equal(r.rejected, undefined);
  assert.equal(header(r.request.headers, "x-filtered-by"), "checked");
});

test("rejects a request with the block header", async () => {
  await using filter = await loadFilter(wasm, { config: { blockHeader: "x-block" } });
  const r = await filter.run({ request: { headers: { "x-block": "1" } } });
  assert.equal(r.rejected?.status, 403);
  assert.equal(r.response.body, "blocked by {{name}}");
  assert.ok(r.logs.some((l) => l.msg.startsWith("blocked GET /")));
});
