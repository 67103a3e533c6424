// Paging, downloads and retries: what every frontend of smps writes, written once.

/** One page of a list: `{items, next_page_token}`. */
export interface Page<T> {
  items: T[];
  next_page_token?: string | null;
}

/** Every item of a paged list, page after page, following `next_page_token` until it is null. */
export async function* paged<T>(fetchPage: (pageToken: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    yield* page.items;
    token = page.next_page_token ?? undefined;
  } while (token !== undefined);
}

/** Every item of a paged list in one array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The file name a `Content-Disposition` header gives (RFC 6266: `filename*` UTF-8 first, then `filename`). */
export function filenameOf(contentDisposition: string | null, fallback = "download"): string {
  if (!contentDisposition) return fallback;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(contentDisposition);
  if (extended?.[2]) {
    try {
      return decodeURIComponent(extended[2].trim());
    } catch {
      // a malformed percent-encoding: use the plain name
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(contentDisposition);
  if (quoted?.[1] !== undefined) return quoted[1].replace(/\\(.)/g, "$1");
  const bare = /filename\s*=\s*([^;]+)/i.exec(contentDisposition);
  return bare?.[1]?.trim() || fallback;
}

/** A downloaded file: its content and the name the server gave it. */
export interface Download {
  blob: Blob;
  filename: string;
  etag: string | null;
}

export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

export interface RetryOptions {
  /** Attempts in all (first one included); 3 unless told. */
  attempts?: number;
  /** Milliseconds before the n-th retry; 250·2ⁿ unless told. */
  delay?: (attempt: number) => number;
}

const RETRIED_STATUSES = new Set([502, 503, 504]);
const UNSAFE = new Set(["POST", "PATCH", "PUT", "DELETE"]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A `fetch` that retries a failed write safely: each write gets one `Idempotency-Key` (unless it has
 * one), kept on every retry, so the server applies it once and replays its answer. Retries on network
 * errors, 502/503/504, and 409 `idempotency_in_flight` (the first attempt still running).
 */
export function retryingFetch(inner: typeof fetch = globalThis.fetch, options: RetryOptions = {}): typeof fetch {
  const attempts = Math.max(1, options.attempts ?? 3);
  const delay = options.delay ?? ((n: number) => 250 * 2 ** n);
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let request = new Request(input, init);
    if (UNSAFE.has(request.method) && !request.headers.has("Idempotency-Key")) {
      const headers = new Headers(request.headers);
      headers.set("Idempotency-Key", newIdempotencyKey());
      request = new Request(request, { headers });
    }
    const retriable = request.headers.has("Idempotency-Key") || !UNSAFE.has(request.method);
    for (let attempt = 0; ; attempt++) {
      const last = !retriable || attempt + 1 >= attempts;
      try {
        const response = await inner(request.clone());
        if (last || !(await shouldRetry(response))) return response;
      } catch (error) {
        if (last) throw error;
      }
      await sleep(delay(attempt));
    }
  };
}

async function shouldRetry(response: Response): Promise<boolean> {
  if (RETRIED_STATUSES.has(response.status)) return true;
  if (response.status !== 409) return false;
  try {
    const body: unknown = await response.clone().json();
    return typeof body === "object" && body !== null && "code" in body && body.code === "idempotency_in_flight";
  } catch {
    return false;
  }
}
