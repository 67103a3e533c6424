// @smps/client: the smps API typed from its OpenAPI document (openapi-typescript) and called with
// openapi-fetch, plus what every frontend needs: sign-in and sign-out, ETags for If-Match, problem
// field errors, paging, downloads with their file names, and safe retries with an Idempotency-Key.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import { type Download, filenameOf, retryingFetch, type RetryOptions } from "./helpers.js";
import { ok, SmpsError } from "./problems.js";
import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export * from "./helpers.js";
export * from "./problems.js";

export type Schemas = components["schemas"];
export type Token = Schemas["TokenResponse"];
export type Attachment = Schemas["AttachmentPublic"];

/** Where the bearer token is kept between page loads. */
export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

/** A token kept in memory only (a script, a test). */
export function memoryTokenStore(initial: string | null = null): TokenStore {
  let token = initial;
  return { get: () => token, set: (value) => { token = value; } };
}

/** A token kept in the tab's sessionStorage: gone when the tab closes, never sent as a cookie. */
export function sessionTokenStore(key = "smps.token", storage: Storage = globalThis.sessionStorage): TokenStore {
  return {
    get: () => storage.getItem(key),
    set: (value) => (value === null ? storage.removeItem(key) : storage.setItem(key, value)),
  };
}

export interface SmpsOptions {
  /** The service's origin (and prefix), e.g. `https://smps.example.cn`; "" for the page's own origin. */
  baseUrl: string;
  /** A token store, or an API key / token to send as it is. */
  token?: TokenStore | string;
  /** `zh-CN` (the service's default) or `en`: the language of problem messages. */
  language?: string;
  /** The fetch to use (retrying writes with an Idempotency-Key unless `retry` is false). */
  fetch?: typeof fetch;
  retry?: RetryOptions | false;
}

export interface UploadOptions {
  kind: string;
  file: Blob;
  filename: string;
  /** The application's ETag as last read; the client's remembered one unless given. */
  ifMatch?: string;
  /** Bytes sent so far and in all (in a browser: XMLHttpRequest's upload progress). */
  onProgress?: (sent: number, total: number) => void;
}

export interface Uploaded {
  attachment: Attachment;
  /** The application's ETag after the upload (`Application-ETag`): the If-Match of its next write. */
  applicationEtag: string;
}

const APPLICATION = "/api/v1/applications/";

/** The API path of a URL (without the origin and the base URL's prefix). */
function resourceOf(url: string, baseUrl: string): string {
  const path = new URL(url, "http://localhost").pathname;
  const prefix = new URL(baseUrl || "/", "http://localhost").pathname.replace(/\/$/, "");
  return prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

export class SmpsClient {
  /** The typed openapi-fetch client: `api.GET("/api/v1/calls")` and so on. */
  readonly api: Client<paths>;
  readonly tokens: TokenStore;
  readonly baseUrl: string;
  private readonly fetcher: typeof fetch;
  private readonly language: string | undefined;
  /** The latest ETag of each resource read or written, by API path (e.g. `/api/v1/applications/app_…`). */
  readonly etags = new Map<string, string>();

  constructor(options: SmpsOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    const given = options.token;
    this.tokens = typeof given === "string" ? memoryTokenStore(given) : given ?? memoryTokenStore();
    this.language = options.language;
    const inner = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
    this.fetcher = options.retry === false ? inner : retryingFetch(inner, options.retry);
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: (request: Request) => this.fetcher(request) });
    this.api.use(this.middleware());
  }

  private middleware(): Middleware {
    return {
      onRequest: ({ request }) => {
        const token = this.tokens.get();
        const signing = /\/api\/v1\/auth\/(token|revoke)$/.test(new URL(request.url).pathname);
        if (token !== null && !signing && !request.headers.has("Authorization")) {
          request.headers.set("Authorization", `Bearer ${token}`);
        }
        if (this.language && !request.headers.has("Accept-Language")) {
          request.headers.set("Accept-Language", this.language);
        }
        return request;
      },
      onResponse: ({ request, response }) => {
        this.remember(request.method, request.url, response);
        return response;
      },
    };
  }

  private remember(method: string, url: string, response: Response): void {
    if (!response.ok) return;
    const path = resourceOf(url, this.baseUrl);
    const etag = response.headers.get("ETag");
    if (etag !== null && (method === "GET" || method === "PATCH" || method === "PUT")) this.etags.set(path, etag);
    const applicationEtag = response.headers.get("Application-ETag");
    const match = /^\/api\/v1\/applications\/([^/]+)/.exec(path);
    if (applicationEtag !== null && match?.[1]) this.etags.set(`${APPLICATION}${match[1]}`, applicationEtag);
  }

  /** The remembered ETag of a resource (read it first), for If-Match. */
  etagOf(path: string): string {
    const etag = this.etags.get(path);
    if (etag === undefined) throw new Error(`no ETag known for ${path}: read it first`);
    return etag;
  }

  /** The remembered ETag of an application. */
  applicationEtag(applicationId: string): string {
    return this.etagOf(`${APPLICATION}${applicationId}`);
  }

  get signedIn(): boolean {
    return this.tokens.get() !== null;
  }

  /** Sign in with a username and password (the token endpoint); the token is kept in the store. */
  async signIn(username: string, password: string): Promise<Token> {
    const result = await this.api.POST("/api/v1/auth/token", {
      body: { username, password, scope: "" },
      bodySerializer: (body) => new URLSearchParams({ username: body.username, password: body.password }),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    const token = ok(result, "sign in");
    this.tokens.set(token.access_token);
    return token;
  }

  /** Sign out: the token is revoked on the server (RFC 7009), then forgotten here whatever happens. */
  async signOut(): Promise<void> {
    const token = this.tokens.get();
    this.tokens.set(null);
    this.etags.clear();
    if (token === null) return;
    const result = await this.api.POST("/api/v1/auth/revoke", {
      body: { token },
      bodySerializer: (body) => new URLSearchParams({ token: body.token, token_type_hint: "access_token" }),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      parseAs: "text",
    });
    if (!result.response.ok) throw new SmpsError(result.response.status, result.error, "sign out");
  }

  /** Upload a file to an application (If-Match: its ETag); answers the attachment and the application's new ETag. */
  async upload(applicationId: string, options: UploadOptions): Promise<Uploaded> {
    const ifMatch = options.ifMatch ?? this.applicationEtag(applicationId);
    const form = new FormData();
    form.append("kind", options.kind); // before the file: the server checks it before reading the file
    form.append("file", options.file, options.filename);
    const url = `${this.baseUrl}${APPLICATION}${encodeURIComponent(applicationId)}/attachments`;
    const headers: Record<string, string> = { "If-Match": ifMatch, "Idempotency-Key": globalThis.crypto.randomUUID() };
    const token = this.tokens.get();
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    if (this.language) headers["Accept-Language"] = this.language;
    const response = options.onProgress && typeof XMLHttpRequest !== "undefined"
      ? await sendWithProgress(url, form, headers, options.onProgress)
      : await this.fetcher(url, { method: "POST", body: form, headers });
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) throw new SmpsError(response.status, body, "upload");
    this.remember("POST", response.url || url, response);
    const applicationEtag = response.headers.get("Application-ETag");
    if (applicationEtag === null) throw new Error("upload: no Application-ETag");
    this.etags.set(`${APPLICATION}${applicationId}`, applicationEtag);
    return { attachment: attachmentOf(body), applicationEtag };
  }

  /** The application form (申请书) as a PDF. */
  async formPdf(applicationId: string): Promise<Download> {
    return downloaded(await this.api.GET("/api/v1/applications/{application_id}/form.pdf", {
      params: { path: { application_id: applicationId } }, parseAs: "blob",
    }), "form.pdf");
  }

  /** The signed receipt of a submitted list, as a PDF. */
  async receiptPdf(batchId: string): Promise<Download> {
    return downloaded(await this.api.GET("/api/v1/batches/{batch_id}/receipt.pdf", {
      params: { path: { batch_id: batchId } }, parseAs: "blob",
    }), "receipt.pdf");
  }

  /** The recommended list to stamp, as a PDF. */
  async recommendedListPdf(batchId: string): Promise<Download> {
    return downloaded(await this.api.GET("/api/v1/batches/{batch_id}/recommended-list.pdf", {
      params: { path: { batch_id: batchId } }, parseAs: "blob",
    }), "recommended-list.pdf");
  }

  /** The electronic copy of a list (BagIt zip). */
  async packageZip(batchId: string): Promise<Download> {
    return downloaded(await this.api.GET("/api/v1/batches/{batch_id}/package.zip", {
      params: { path: { batch_id: batchId } }, parseAs: "blob",
    }), "package.zip");
  }

  /** An attachment's file. */
  async attachmentContent(attachmentId: string): Promise<Download> {
    return downloaded(await this.api.GET("/api/v1/attachments/{attachment_id}/content", {
      params: { path: { attachment_id: attachmentId } }, parseAs: "blob",
    }), "attachment");
  }
}

function downloaded(result: { data?: Blob; error?: unknown; response: Response }, fallback: string): Download {
  const blob = ok(result, `download ${fallback}`);
  return {
    blob,
    filename: filenameOf(result.response.headers.get("Content-Disposition"), fallback),
    etag: result.response.headers.get("ETag"),
  };
}

function attachmentOf(body: unknown): Attachment {
  if (typeof body !== "object" || body === null || !("id" in body) || typeof body.id !== "string") {
    throw new Error("upload: the answer is not an attachment");
  }
  // The service's answer to a successful upload is an AttachmentPublic (the document says so).
  const attachment: Attachment = Object.assign(Object.create(null), body);
  return attachment;
}

function sendWithProgress(url: string, form: FormData, headers: Record<string, string>,
  onProgress: (sent: number, total: number) => void): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    xhr.onerror = () => reject(new TypeError("upload failed: network error"));
    xhr.onload = () => {
      const answered = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const at = line.indexOf(":");
        if (at > 0) answered.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      resolve(new Response(xhr.responseText, { status: xhr.status, headers: answered }));
    };
    xhr.send(form);
  });
}
