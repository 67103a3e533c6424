// Against a live smps loaded with `smps demo`: SMPS_URL and SMPS_DEMO (the demo's JSON output) are set
// by tests/contract/test_typescript_package.py. Sign in, read, patch with If-Match, see field errors,
// upload (Application-ETag), page through lists, download a PDF with its name, sign out (revoked).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, test } from "node:test";
import { collect, memoryTokenStore, ok, paged, type Schemas, SmpsClient, SmpsError } from "../src/index.js";

interface Demo { call_id: string; recommender_id: string; password: string; organizations: Record<string, string> }

const baseUrl = process.env.SMPS_URL ?? "";
const demoPath = process.env.SMPS_DEMO ?? "";
const live = { skip: baseUrl === "" || demoPath === "" ? "SMPS_URL and SMPS_DEMO are not set" : false };
let demo: Demo;
let applicant: SmpsClient;

function org(key: string): string {
  const id = demo.organizations[key];
  assert.ok(id, key);
  return id;
}

before(async () => {
  if (live.skip) return;
  demo = JSON.parse(readFileSync(demoPath, "utf8"));
  applicant = new SmpsClient({ baseUrl, language: "en" });
  await applicant.signIn("demo_applicant", demo.password);
});

// A small valid PDF (one empty page).
function pdf(): Blob {
  const objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"];
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((o, i) => { offsets.push(body.length); body += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const at of offsets) body += `${String(at).padStart(10, "0")} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Blob([body], { type: "application/pdf" });
}

async function draft(title: string): Promise<Schemas["ApplicationPublic"]> {
  const body: Schemas["ApplicationCreate"] = {
    call_id: demo.call_id,
    title,
    domain: { area: "1.1", item: "1.1.3" },
    recommender_id: demo.recommender_id,
    parties: { participating: [org("demo-participating")], guarantor: org("demo-guarantor"), guidance: org("demo-guidance") },
  };
  return ok(await applicant.api.POST("/api/v1/applications", { body }), "create");
}

test("a wrong password is a problem with its code", live, async () => {
  const stranger = new SmpsClient({ baseUrl, token: memoryTokenStore() });
  await assert.rejects(stranger.signIn("demo_applicant", "wrong"), (e: unknown) =>
    e instanceof SmpsError && e.status === 401 && e.code === "invalid_credentials");
  assert.equal(stranger.signedIn, false);
});

test("a merge patch sends the remembered ETag; a stale one is refused", live, async () => {
  const created = await draft("历下区试点（客户端测试）");
  const path = `/api/v1/applications/${created.id}`;
  ok(await applicant.api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: created.id } } }));
  const stale = applicant.etagOf(path);
  const patched = await applicant.api.PATCH("/api/v1/applications/{application_id}", {
    params: { path: { application_id: created.id }, header: { "if-match": stale } },
    body: { contact: { name: "王芳", phone: "13800138000", email: "wangfang@example.cn" } },
  });
  assert.equal(ok(patched, "patch").contact?.name, "王芳");
  assert.notEqual(applicant.etagOf(path), stale, "the patch's ETag is remembered");
  const refused = await applicant.api.PATCH("/api/v1/applications/{application_id}", {
    params: { path: { application_id: created.id }, header: { "if-match": stale } }, body: { title: "x" },
  });
  assert.throws(() => ok(refused), (e: unknown) => e instanceof SmpsError && e.status === 412);
});

test("field errors come back by pointer", live, async () => {
  const created = await draft("历下区试点（字段错误）");
  const read = await applicant.api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: created.id } } });
  ok(read);
  const result = await applicant.api.PATCH("/api/v1/applications/{application_id}", {
    params: { path: { application_id: created.id }, header: { "if-match": applicant.applicationEtag(created.id) } },
    body: { contact: { name: "王芳", phone: "not a phone", email: "not an email" } },
  });
  try {
    ok(result, "patch");
    assert.fail("an invalid contact is refused");
  } catch (error) {
    assert.ok(error instanceof SmpsError, String(error));
    assert.equal(error.status, 422);
    assert.ok([...error.fields.keys()].some((p) => p.startsWith("/contact/")), JSON.stringify([...error.fields]));
  }
});

test("an upload answers the application's new ETag, which the next write uses", live, async () => {
  const created = await draft("历下区试点（上传）");
  ok(await applicant.api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: created.id } } }));
  const before = applicant.applicationEtag(created.id);
  const progress: number[] = [];
  const { attachment, applicationEtag } = await applicant.upload(created.id, {
    kind: "application_form_scan", file: pdf(), filename: "申请书扫描件.pdf", onProgress: (sent) => progress.push(sent),
  });
  assert.equal(attachment.kind, "application_form_scan");
  assert.notEqual(applicationEtag, before);
  assert.equal(applicant.applicationEtag(created.id), applicationEtag);
  const patched = await applicant.api.PATCH("/api/v1/applications/{application_id}", {
    params: { path: { application_id: created.id }, header: { "if-match": applicant.applicationEtag(created.id) } },
    body: { title: "历下区试点（上传后）" },
  });
  assert.equal(ok(patched).title, "历下区试点（上传后）");
  await assert.rejects(applicant.upload(created.id, { kind: "no_such_kind", file: pdf(), filename: "x.pdf" }),
    (e: unknown) => e instanceof SmpsError && e.status === 422);
});

test("lists page through next_page_token", live, async () => {
  await draft("历下区试点（分页一）");
  await draft("历下区试点（分页二）");
  const all = await collect(paged(async (token) => ok(await applicant.api.GET("/api/v1/applications", {
    params: { query: { page_size: 1, page_token: token, call_id: demo.call_id } },
  }))));
  assert.ok(all.length >= 2);
  assert.equal(new Set(all.map((a) => a.id)).size, all.length, "no item twice");
});

test("form.pdf downloads as a Blob with its file name", live, async () => {
  const created = await draft("历下区试点（下载）");
  const download = await applicant.formPdf(created.id);
  assert.equal(download.blob.type.split(";")[0], "application/pdf");
  assert.ok(download.filename.endsWith(".pdf"), download.filename);
  const head = new TextDecoder().decode(await download.blob.slice(0, 5).arrayBuffer());
  assert.equal(head, "%PDF-");
});

test("sign-out revokes the token on the server", live, async () => {
  const someone = new SmpsClient({ baseUrl });
  await someone.signIn("demo_reviewer", demo.password);
  const token = someone.tokens.get();
  assert.ok(token);
  ok(await someone.api.GET("/api/v1/me"));
  await someone.signOut();
  assert.equal(someone.signedIn, false);
  const after = new SmpsClient({ baseUrl, token });
  const refused = await after.api.GET("/api/v1/me");
  assert.equal(refused.response.status, 401);
});
