// Runs the built component (npm test builds it first) with praxis-wasm's test kit. The auth
// service is mocked: each rule answers the sub-requests whose URL matches, with a response, an
// error kind or after a delay; `r.subrequests` lists the calls the filter made.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadFilter } from "praxis-wasm/testing";

const wasm = new URL("../dist/{{name}}.wasm", import.meta.url).pathname;
const config = { authUrl: "http://auth.test/check", timeoutMs: 200 };
const header = (h: Array<[string, string]>, name: string) => h.find(([k]) => k === name)?.[1];

test("a token the service accepts passes, with the user it named", async () => {
  await using filter = await loadFilter(wasm, { config, mocks: [{ match: "http://auth.test/*", response: { status: 200, headers: { "x-auth-user": "alice" } } }] });
  const r = await filter.run({ request: { headers: { authorization: "Bearer good" } } });
  assert.equal(r.rejected, undefined);
  assert.equal(header(r.request.headers, "x-auth-user"), "alice");
  assert.equal(header(r.request.headers, "x-auth-checked"), "1");
  assert.equal(r.subrequests.length, 1);
  assert.equal(r.subrequests[0].url, "http://auth.test/check");
  assert.equal(header(r.subrequests[0].headers, "authorization"), "Bearer good");
});

test("a token the service refuses is 403; no token is 401 without a call", async () => {
  await using filter = await loadFilter(wasm, { config, mocks: [{ match: "http://auth.test/*", response: { status: 401 } }] });
  assert.equal((await filter.run({ request: { headers: { authorization: "Bearer bad" } } })).rejected?.status, 403);
  const none = await filter.run({ request: {} });
  assert.equal(none.rejected?.status, 401);
  assert.equal(none.subrequests.length, 0);
});

test("a slow or failing service is 503", async () => {
  await using filter = await loadFilter(wasm, { config });
  const slow = await filter.run({ request: { headers: { authorization: "t" } }, mocks: [{ match: "http://auth.test/*", delayMs: 5000 }] });
  assert.equal(slow.subrequests[0].outcome, "timeout");
  assert.equal(slow.rejected?.status, 503);
  const down = await filter.run({ request: { headers: { authorization: "t" } }, mocks: [{ match: "http://auth.test/*", error: "connect" }] });
  assert.equal(down.rejected?.status, 503);
  assert.ok(down.logs.some((l) => l.level === "warn" && l.msg.includes("connect")));
});
