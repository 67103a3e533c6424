// Compile-time probes: each `@ts-expect-error` marks a mistake the generated types must catch. Were the
// document to loosen (a free string instead of an enum, an optional If-Match), the directive would be
// unused and `tsc` would fail on it.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });
const application = { path: { application_id: "app_1" }, header: { "if-match": '"3"' } };

export async function probes(seen: Schemas["ApplicationPublic"]): Promise<void> {
  // A typo in a review decision.
  // @ts-expect-error "recommended" is not a decision (recommend | return | reject)
  await client.POST("/api/v1/applications/{application_id}/reviews", { params: application, body: { decision: "recommended" } });

  // A typo in an outcome decision.
  // @ts-expect-error "approved" is a state; the decision is "approve"
  await client.POST("/api/v1/applications/{application_id}/outcome", { params: application, body: { decision: "approved" } });

  // A typo in a sign-off decision.
  await client.POST("/api/v1/applications/{application_id}/endorsements", {
    params: application,
    // @ts-expect-error "agreed" is a sign-off status, the decision is "agree"
    body: { role: "guarantor", organization_id: "org_1", decision: "agreed", opinion: "同意", signatory_name: "张伟", mode: "online" },
  });

  // A typo in a state.
  // @ts-expect-error "provincial-review" is not a state
  const state: Schemas["ApplicationPublic"]["state"] = "provincial-review";

  // A typo in an action, sent and read.
  // @ts-expect-error "sumbit" is not an action
  await client.POST("/api/v1/applications/{application_id}/transitions", { params: application, body: { action: "sumbit" } });
  // @ts-expect-error "aprove" is not among the actions a representation can offer
  const offered = seen.allowed_actions.includes("aprove");

  // A change without If-Match.
  await client.POST("/api/v1/applications/{application_id}/transitions", {
    // @ts-expect-error the If-Match header is required
    params: { path: { application_id: "app_1" } },
    body: { action: "submit" },
  });
  // An upload without If-Match: it changes the application as every other write does.
  await client.POST("/api/v1/applications/{application_id}/attachments", {
    // @ts-expect-error the If-Match header is required to upload an attachment
    params: { path: { application_id: "app_1" } },
    body: { kind: "evidence", file: new Blob([]) },
  });
  // @ts-expect-error the If-Match header is required to delete an attachment too
  await client.DELETE("/api/v1/attachments/{attachment_id}", { params: { path: { attachment_id: "att_1" } } });

  // A typo in a section key: the form's sections are a closed set.
  const form: Schemas["ApplicationCreate"] = {
    call_id: "cal_1",
    title: "济南市历下区政务服务标准化试点",
    // @ts-expect-error "basic_situaton" is not a section (basic_situation, groundwork, …)
    sections: { basic_situaton: "…" },
  };

  // A bulk row that is not an application: rows are the body of POST /applications.
  await client.POST("/api/v1/bulk-uploads", {
    // @ts-expect-error "name" is not a member of an application row (its title is `title`)
    body: { mode: "valid_rows", rows: [{ call_id: "cal_1", name: "济南市历下区政务服务标准化试点" }] },
  });

  // A receipt to verify is a receipt as issued, not any object.
  // @ts-expect-error a tracking number alone is not a receipt (items, signatures… are missing)
  await client.POST("/api/v1/receipts/verify", { body: { tracking_number: "SMPS-2022-0001" } });

  console.log(state, offered, form);
}

// What the service answers is typed as tightly as what it takes: each closed vocabulary of a response is a
// union, so a misspelled comparison or a stale constant fails to compile.
type Problem = Schemas["Problem"];
type Event = Schemas["ApplicationStateChangedEvent"];
export function answers(
  endorsement: Schemas["EndorsementPublic"],
  review: Schemas["ReviewPublic"],
  step: Schemas["TransitionPublic"],
  attachment: Schemas["AttachmentPublic"],
  me: Schemas["MePublic"],
  problem: Problem,
  row: Schemas["RowResult"],
  verdict: Schemas["VerifyResult"],
  batch: Schemas["BatchPublic"],
  upload: Schemas["BulkUploadPublic"],
  token: Schemas["TokenResponse"],
  event: Event,
  summary: Schemas["RecommenderRow"],
): boolean[] {
  return [
    // @ts-expect-error a sign-off decision is "agree" or "disagree"
    endorsement.decision === "agreed",
    // @ts-expect-error a sign-off mode is "online" or "paper"
    endorsement.mode === "offline",
    // @ts-expect-error a party is undertaking, participating, guarantor or guidance
    endorsement.party_role === "guarantee",
    // @ts-expect-error a paper page is pending, confirmed or rejected
    endorsement.verification === "verified",
    // @ts-expect-error a review decision is recommend, return or reject
    review.decision === "recommended",
    // @ts-expect-error a transition leads to a state, and "in_review" is none
    step.to_state === "in_review",
    // @ts-expect-error a transition's action is a step of the workflow table
    step.action === "sumbit",
    // @ts-expect-error a file type is pdf, ofd, docx, xlsx, jpeg or png
    attachment.file_type === "PDF",
    // @ts-expect-error a media type is one of the six detected
    attachment.media_type === "application/x-pdf",
    // @ts-expect-error the caller authenticated with a "token" or an "api_key"
    me.authenticated_with === "apikey",
    // @ts-expect-error a recommender is a "province" or a "member_unit"
    me.recommender_kind === "provincial",
    // @ts-expect-error a problem's state is an application's or a list's
    problem.state === "in_review",
    // @ts-expect-error a role is applicant, signatory, reviewer, office or admin
    (problem.required_roles ?? []).includes("approver"),
    // @ts-expect-error a problem's code is one of the service's stable codes
    problem.code === "not_allowed",
    // @ts-expect-error the accepted types are file types, not media types
    (problem.allowed_types ?? []).includes("application/pdf"),
    // @ts-expect-error a row is created, invalid or skipped
    row.status === "ok",
    // @ts-expect-error a verification's reason is valid, malformed, unsigned, unknown_key…
    verdict.reason === "bad_signature",
    // @ts-expect-error a list offers set_items, submit, acknowledge or return
    batch.allowed_actions.includes("acknowledged"),
    // @ts-expect-error a list's item carries its application's state
    (batch.items[0]?.state ?? "draft") === "recommend",
    // @ts-expect-error an upload's source is json, csv or xlsx
    upload.source === "xls",
    // @ts-expect-error a token's type is "bearer"
    token.token_type === "Bearer",
    // @ts-expect-error an application's event is about an "application"
    event.subject_type === "batch",
    // @ts-expect-error a row of the summary names a "province" or a "member_unit"
    summary.recommender_kind === "member",
  ];
}

// An upload's file part is binary: a Blob, not a string of its name.
export async function uploads(file: Blob): Promise<void> {
  await client.POST("/api/v1/applications/{application_id}/attachments", {
    params: { path: { application_id: "app_1" }, header: { "if-match": '"1"' } },
    body: { kind: "application_form_scan", file },
  });
  await client.POST("/api/v1/applications/{application_id}/attachments", {
    params: { path: { application_id: "app_1" }, header: { "if-match": '"1"' } },
    // @ts-expect-error the file part is the file's content, not its path
    body: { kind: "application_form_scan", file: "/tmp/scan.pdf" },
  });
}

// New event types are additive (docs/versioning.md): a page holding a type this document does not list
// is still an `EventPage` (its event is an `UnknownEvent`), and a known type still narrows to its data.
export function tolerates(page: Schemas["EventPage"]): string[] {
  const future: Schemas["EventPage"] = {
    items: [
      {
        id: "evt_1",
        type: "application.archived",
        subject_type: "application",
        subject_id: "app_1",
        occurred_at: "2026-12-06T10:00:00+08:00",
        actor_id: null,
        data: { archived_by: "usr_1" },
        cursor: "c2VxOjE",
      },
    ],
    next_cursor: "c2VxOjE",
    has_more: false,
  };
  const seen: string[] = [];
  for (const event of [...future.items, ...page.items]) {
    if (event.type === "batch.submitted" && "tracking_number" in event.data) {
      seen.push(`${event.id} ${String(event.data.tracking_number)}`);
    } else {
      seen.push(`${event.id} ${event.type}`);
    }
  }
  return seen;
}
