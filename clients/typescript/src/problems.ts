// problem+json (RFC 9457) answers read into what a form shows: a message per field, by JSON pointer.
import type { components } from "./schema.js";

/** The codes the document lists (a newer server may answer others: `Problem.code` is a string). */
export type ProblemCode = components["schemas"]["Problem"]["code"];

/** A problem+json body as read: its members, the field errors always a list, and every other member in `extra`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string | null;
  errors: FieldError[];
  extra: Record<string, unknown>;
}
export type FieldError = components["schemas"]["ProblemFieldError"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFieldError(value: unknown): value is FieldError {
  return isRecord(value) && typeof value.pointer === "string" && typeof value.code === "string" &&
    typeof value.message === "string";
}

/** The problem in an error body, or null when the body is not one (a network failure, an HTML page). */
export function problemOf(body: unknown): Problem | null {
  if (!isRecord(body) || typeof body.code !== "string" || typeof body.status !== "number") return null;
  return {
    type: typeof body.type === "string" ? body.type : "about:blank",
    title: typeof body.title === "string" ? body.title : body.code,
    status: body.status,
    code: body.code,
    detail: typeof body.detail === "string" ? body.detail : null,
    errors: Array.isArray(body.errors) ? body.errors.filter(isFieldError) : [],
    extra: body,
  };
}

/** The messages of each field, by JSON pointer (`/sections/basic_situation`, or `query:/name`). */
export function fieldErrors(problem: Problem | null): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const error of problem?.errors ?? []) {
    const messages = fields.get(error.pointer) ?? [];
    messages.push(error.message);
    fields.set(error.pointer, messages);
  }
  return fields;
}

/** The messages at a pointer and under it (`/sections` gathers `/sections/goals` too). */
export function errorsUnder(fields: Map<string, string[]>, pointer: string): string[] {
  const found: string[] = [];
  for (const [at, messages] of fields) {
    if (at === pointer || at.startsWith(`${pointer}/`)) found.push(...messages);
  }
  return found;
}

/** A refused request: its HTTP status, the problem the service answered (if any), and its field errors. */
export class SmpsError extends Error {
  readonly status: number;
  readonly problem: Problem | null;
  readonly fields: Map<string, string[]>;

  constructor(status: number, body: unknown, what = "request") {
    const problem = problemOf(body);
    super(problem ? `${what}: ${status} ${problem.code}: ${problem.detail ?? problem.title}` : `${what}: ${status}`);
    this.name = "SmpsError";
    this.status = status;
    this.problem = problem;
    this.fields = fieldErrors(problem);
  }

  get code(): string | null {
    return this.problem?.code ?? null;
  }
}

/** The data of an openapi-fetch result, or a thrown SmpsError with the problem. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }, what = "request"): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new SmpsError(result.response.status, result.error, what);
  }
  if (result.data === undefined) throw new SmpsError(result.response.status, null, `${what}: no body`);
  return result.data;
}
