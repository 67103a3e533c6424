// The one client of the portal: same origin, the token in this tab's sessionStorage.
import { ok, type Schemas, sessionTokenStore, SmpsClient } from "@smps/client";
import { language } from "./i18n";

export const smps = new SmpsClient({ baseUrl: "", token: sessionTokenStore(), language: language() });
export { ok };
export type { Schemas };

let me: Schemas["MePublic"] | null = null;

export async function currentUser(): Promise<Schemas["MePublic"]> {
  if (me === null) me = ok(await smps.api.GET("/api/v1/me"), "me");
  return me;
}

export function forgetUser(): void {
  me = null;
}

export async function calls(): Promise<Schemas["CallSummary"][]> {
  return ok(await smps.api.GET("/api/v1/calls"), "calls");
}

export async function readApplication(id: string): Promise<Schemas["ApplicationPublic"]> {
  return ok(await smps.api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: id } } }), "read");
}
