// The main flow of smps, walked with openapi-fetch on the types openapi-typescript generated from
// openapi/openapi.json: a draft to an approved pilot. Run against a server loaded with `smps demo`:
//   SMPS_URL=http://127.0.0.1:8000 SMPS_DEMO=var/demo.json SMPS_SCAN=form.pdf SMPS_PAGE=page.pdf node dist/walk.js
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type Application = Schemas["ApplicationPublic"];
type Role = Schemas["EndorsementRequest"]["role"];

interface DemoUser { username: string; api_key: string }
interface Demo { call_id: string; recommender_id: string; organizations: Record<string, string>; users: DemoUser[] }

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const baseUrl = need("SMPS_URL");
const demo: Demo = JSON.parse(readFileSync(need("SMPS_DEMO"), "utf8"));

function keyOf(username: string): string {
  const user = demo.users.find((u) => u.username === username);
  if (!user) throw new Error(`no demo user ${username}`);
  return user.api_key;
}

function org(key: string): string {
  const id = demo.organizations[key];
  if (!id) throw new Error(`no demo organization ${key}`);
  return id;
}

function as(username: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${keyOf(username)}` } });
}

function etagOf(response: Response): string {
  const tag = response.headers.get("ETag");
  if (tag === null) throw new Error(`${response.url}: no ETag`);
  return tag;
}

function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

const applicant = as("demo_applicant");
const reviewer = as("demo_reviewer");
const office = as("demo_office");

type Uploaded = { attachment: Schemas["AttachmentPublic"]; applicationEtag: string };

async function upload(applicationId: string, ifMatch: string, kind: string, path: string): Promise<Uploaded> {
  // Multipart through openapi-fetch: the document types the file part as binary (a Blob), so the body is
  // typed like any other; the serializer only puts it into a FormData. If-Match is the application's ETag.
  const file = new Blob([readFileSync(path)], { type: "application/pdf" });
  const result = await applicant.POST("/api/v1/applications/{application_id}/attachments", {
    params: { path: { application_id: applicationId }, header: { "if-match": ifMatch } },
    body: { kind, file },
    bodySerializer(body) {
      const form = new FormData();
      form.append("kind", body.kind);
      form.append("file", body.file, "申请书扫描件.pdf");
      return form;
    },
  });
  expect(result.response.status === 201, `upload ${kind}: ${result.response.status}`);
  const attachment = ok(result, `upload ${kind}`);
  const applicationEtag = result.response.headers.get("Application-ETag");
  if (applicationEtag === null) throw new Error(`upload ${kind}: no Application-ETag`);
  return { attachment, applicationEtag };
}

async function read(id: string): Promise<{ application: Application; etag: string }> {
  const result = await applicant.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: id } } });
  return { application: ok(result, "read"), etag: etagOf(result.response) };
}

async function main(): Promise<void> {
  const calls = ok(await applicant.GET("/api/v1/calls"), "calls");
  const practice = calls.find((c) => c.key === "practice");
  if (!practice) throw new Error("no practice call");
  const call = ok(await applicant.GET("/api/v1/calls/{call_id}", { params: { path: { call_id: practice.id } } }), "call");

  // 1. Draft, checked by the validation report.
  const body: Schemas["ApplicationCreate"] = {
    call_id: call.id,
    title: "济南市历下区政务服务标准化试点",
    domain: { area: "1.1", item: "1.1.3" },
    recommender_id: demo.recommender_id,
    parties: { participating: [org("demo-participating")], guarantor: org("demo-guarantor"), guidance: org("demo-guidance") },
    contact: { name: "王芳", phone: "13800138000", email: "wangfang@example.cn" },
    period: { start: "2023-01-01", end: "2024-12-31" },
    sections: Object.fromEntries(call.sections.map((s) => [s.key, `${s.title}：按试点实施方案推进。`])),
    standards: [{ code: "GB/T 32169.1-2015", title: "政务服务中心运行规范 第1部分：基本要求", level: "national", status: "existing" }],
    funding: { amount_cny: 1200000, sources: "区财政专项资金" },
    eligibility: [1, 2, 3, 4].map((condition) => ({ condition, attested: true })),
  };
  const createdResult = await applicant.POST("/api/v1/applications", { body });
  const created = ok(createdResult, "create");
  expect(created.state === "draft", "a new application is a draft");
  const report = ok(await applicant.GET("/api/v1/applications/{application_id}/validation",
    { params: { path: { application_id: created.id } } }), "validation");
  expect(report.errors.some((e) => e.pointer.includes("application_form_scan")) || report.errors.length > 0,
    "without its form scan the draft cannot be submitted");

  // 2. The stamped form scan (If-Match: the application's ETag), then submit for sign-off.
  const scan = await upload(created.id, etagOf(createdResult.response), "application_form_scan", need("SMPS_SCAN"));
  let { application, etag } = await read(created.id);
  expect(application.allowed_actions.includes("submit"), "submit is offered");
  expect(scan.applicationEtag === etag, "the upload answers the application's new ETag");
  const submitted = await applicant.POST("/api/v1/applications/{application_id}/transitions", {
    params: { path: { application_id: created.id }, header: { "if-match": etag } }, body: { action: "submit" },
  });
  expect(ok(submitted, "submit").state === "endorsing", "submitted for sign-off");

  // 3. Four sign-offs: three online by each party's signatory, the guarantor's on paper.
  const online: [string, Role, string][] = [
    ["demo_applicant", "undertaking", application.undertaking_org_id],
    ["demo_participating_signatory", "participating", org("demo-participating")],
    ["demo_guidance_signatory", "guidance", org("demo-guidance")],
  ];
  for (const [username, role, organizationId] of online) {
    ({ etag } = await read(created.id));
    ok(await as(username).POST("/api/v1/applications/{application_id}/endorsements", {
      params: { path: { application_id: created.id }, header: { "if-match": etag } },
      body: { role, organization_id: organizationId, decision: "agree", opinion: "同意申报", signatory_name: username,
              mode: "online" },
    }), `sign-off ${role}`);
  }
  ({ etag } = await read(created.id));
  const { attachment: page, applicationEtag } = await upload(created.id, etag, "paper_endorsement", need("SMPS_PAGE"));
  etag = applicationEtag;
  const paper = ok(await applicant.POST("/api/v1/applications/{application_id}/endorsements", {
    params: { path: { application_id: created.id }, header: { "if-match": etag } },
    body: { role: "guarantor", organization_id: org("demo-guarantor"), decision: "agree", opinion: "同意申报",
            signatory_name: "张伟", signatory_title: "区长", mode: "paper", attachment_id: page.id },
  }), "paper sign-off");
  ({ application, etag } = await read(created.id));
  expect(application.state === "provincial_review", `every party agreed: ${application.state}`);

  // 4. The province's reviewer verifies the paper page, then recommends.
  const forReviewer = await reviewer.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: created.id } } });
  expect(ok(forReviewer, "reviewer reads").allowed_actions.includes("verify_paper_endorsement"), "verification offered");
  ok(await reviewer.POST("/api/v1/applications/{application_id}/endorsements/{endorsement_id}/verification", {
    params: { path: { application_id: created.id, endorsement_id: paper.id }, header: { "if-match": etagOf(forReviewer.response) } },
    body: { verdict: "confirmed", comment: "签字盖章页与原件一致" },
  }), "verification");
  ({ etag } = await read(created.id));
  ok(await reviewer.POST("/api/v1/applications/{application_id}/reviews", {
    params: { path: { application_id: created.id }, header: { "if-match": etag } },
    body: { decision: "recommend", opinion: "同意推荐" },
  }), "recommend");

  // 5. The recommended list: one batch, its items, submitted with a signed receipt.
  const opened = await reviewer.POST("/api/v1/batches", { body: { call_id: call.id } });
  const batch = ok(opened, "batch");
  const listed = await reviewer.PUT("/api/v1/batches/{batch_id}/items", {
    params: { path: { batch_id: batch.id }, header: { "if-match": etagOf(opened.response) } },
    body: { items: [{ rank: 1, application_id: created.id }] },
  });
  ok(listed, "items");
  const sent = await reviewer.POST("/api/v1/batches/{batch_id}/transitions", {
    params: { path: { batch_id: batch.id }, header: { "if-match": etagOf(listed.response) } }, body: { action: "submit" },
  });
  expect(ok(sent, "batch submit").state === "submitted", "batch submitted");
  const receipt = ok(await reviewer.GET("/api/v1/batches/{batch_id}/receipt", { params: { path: { batch_id: batch.id } } }), "receipt");
  const verdict = ok(await office.POST("/api/v1/receipts/verify", { body: receipt }), "verify");
  expect(verdict.valid, `the receipt verifies: ${verdict.reason}`);

  // 6. The office acknowledges (受理) and records the outcome.
  const forOffice = await office.GET("/api/v1/batches/{batch_id}", { params: { path: { batch_id: batch.id } } });
  expect(ok(forOffice, "office reads").allowed_actions.includes("acknowledge"), "acknowledge offered");
  ok(await office.POST("/api/v1/batches/{batch_id}/transitions", {
    params: { path: { batch_id: batch.id }, header: { "if-match": etagOf(forOffice.response) } }, body: { action: "acknowledge" },
  }), "acknowledge");
  const final = await office.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: created.id } } });
  expect(ok(final, "office reads the application").allowed_actions.includes("approve"), "approve offered");
  const outcome = await office.POST("/api/v1/applications/{application_id}/outcome", {
    params: { path: { application_id: created.id }, header: { "if-match": etagOf(final.response) } },
    body: { decision: "approve", document_number: "国标委发〔2023〕5号" },
  });
  const approved: Application = ok(outcome, "outcome");
  expect(approved.state === "approved", `approved: ${approved.state}`);
  console.log(JSON.stringify({ application: approved.id, state: approved.state, tracking_number: receipt.tracking_number }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
