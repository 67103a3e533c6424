// The helpers that need no server: file names, problems, paging, retries.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collect, errorsUnder, fieldErrors, filenameOf, paged, problemOf, retryingFetch } from "../src/index.js";

test("file names follow RFC 6266: filename* in UTF-8 first, then filename", () => {
  assert.equal(filenameOf(`attachment; filename="form.pdf"; filename*=UTF-8''%E7%94%B3%E8%AF%B7%E4%B9%A6.pdf`), "申请书.pdf");
  assert.equal(filenameOf('attachment; filename="receipt \\"1\\".pdf"'), 'receipt "1".pdf');
  assert.equal(filenameOf("attachment; filename=package.zip"), "package.zip");
  assert.equal(filenameOf(null, "x.pdf"), "x.pdf");
});

test("a problem's field errors are gathered by pointer", () => {
  const problem = problemOf({
    type: "urn:smps:problem:validation_failed", title: "t", status: 422, code: "validation_failed",
    errors: [
      { pointer: "/contact/phone", code: "invalid", message: "电话无效" },
      { pointer: "/contact/phone", code: "short", message: "太短" },
      { pointer: "/title", code: "required", message: "必填" },
      { pointer: 3, code: "x" },
    ],
  });
  assert.ok(problem);
  const fields = fieldErrors(problem);
  assert.deepEqual(fields.get("/contact/phone"), ["电话无效", "太短"]);
  assert.deepEqual(errorsUnder(fields, "/contact"), ["电话无效", "太短"]);
  assert.equal(fields.size, 2);
  assert.equal(problemOf("<html>"), null);
});

test("paging follows next_page_token to the end", async () => {
  const pages: Record<string, { items: number[]; next_page_token: string | null }> = {
    start: { items: [1, 2], next_page_token: "b" },
    b: { items: [3], next_page_token: "c" },
    c: { items: [], next_page_token: null },
  };
  const asked: (string | undefined)[] = [];
  const all = await collect(paged(async (token) => {
    asked.push(token);
    const page = pages[token ?? "start"];
    assert.ok(page);
    return page;
  }));
  assert.deepEqual(all, [1, 2, 3]);
  assert.deepEqual(asked, [undefined, "b", "c"]);
});

test("a retried write keeps one Idempotency-Key", async () => {
  const keys: (string | null)[] = [];
  const flaky: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    keys.push(request.headers.get("Idempotency-Key"));
    assert.equal(await request.text(), '{"a":1}');
    return keys.length < 3 ? new Response("busy", { status: 503 }) : new Response("{}", { status: 201 });
  };
  const send = retryingFetch(flaky, { attempts: 3, delay: () => 0 });
  const response = await send("http://127.0.0.1:9/x", { method: "POST", body: '{"a":1}' });
  assert.equal(response.status, 201);
  assert.equal(keys.length, 3);
  assert.ok(keys[0]);
  assert.ok(keys.every((k) => k === keys[0]));
});
