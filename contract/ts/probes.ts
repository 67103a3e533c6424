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
