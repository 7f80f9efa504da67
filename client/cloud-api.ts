import type { ZodType } from 'zod';
import type { ResponseOf } from './responses.ts';

/** Called for every request before it is sent, with the exact body bytes (agents log these). */
export type RequestObserver = (request: {
  method: string;
  url: string;
  body: Uint8Array | null;
}) => Promise<number>;
export type ResponseObserver = (logId: number, status: number | null) => Promise<void>;

/**
 * Everything the client throws about the cloud: a library error, which the app turns into one line (the CLI:
 * `cairn: …`, with `exitCode`). The message holds no response body, only codes and what the cloud said.
 */
export class CloudError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CloudError';
  }
}

/** A refusal by the cloud: its HTTP status and the error code from `{ error: { code, message } }`. */
export class CloudRefusal extends CloudError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(refusalLine(status, code, message));
    this.name = 'CloudRefusal';
  }
}

/** What a person can do about each way the cloud refuses a token. */
const TOKEN_REFUSALS: Record<string, string> = {
  'missing-token': 'no token was sent (pass --token or set CAIRN_TOKEN)',
  'invalid-token': 'unknown or revoked token',
  'revoked-token': 'unknown or revoked token',
  'expired-token': 'the token has expired; ask an admin for a new one',
};

function refusalLine(status: number, code: string, message: string): string {
  const token = status === 401 ? TOKEN_REFUSALS[code] : undefined;
  return token ? `the cloud refused the token: ${token}` : `cloud refused (${status} ${code}): ${message}`;
}

/** The cloud's base URL as given (--cloud, CAIRN_CLOUD) must be an http(s) URL; else one line saying so. */
export function checkCloudUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Reported below.
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.hostname)
    throw new CloudError(`--cloud: not an http(s) URL: ${JSON.stringify(url.slice(0, 200))}`, 2);
  return url;
}

/** The cloud could not be reached at all (network down, wrong URL): work stays queued for later. */
export class CloudUnreachable extends CloudError {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the cloud at ${new URL(url).origin}: ${(cause as Error)?.message ?? cause}`);
    this.name = 'CloudUnreachable';
  }
}

/** The cloud answered, but not with the shape its route has (another version, or something in between). */
export class CloudAnswerInvalid extends CloudError {
  constructor(method: string, url: URL, why: string) {
    super(`the cloud's answer to ${method} ${url.pathname} is not what this client reads: ${why}`);
    this.name = 'CloudAnswerInvalid';
  }
}

/**
 * The answer's JSON checked against its route's schema (client/responses.ts). The route table (every API
 * schema, and zod) is loaded with the first answer, not with the client: a CLI start that sends nothing
 * stays fast.
 */
async function parseAnswer(method: string, url: URL, text: string): Promise<unknown> {
  const { responseSchemaOf } = await import('./responses.ts');
  const schema: ZodType | undefined = responseSchemaOf(method, url);
  if (!schema) throw new CloudAnswerInvalid(method, url, 'this client knows no such route');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CloudAnswerInvalid(method, url, 'not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CloudAnswerInvalid(
      method,
      url,
      `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/**
 * `each` is a JSON body made anew for every try: a signed envelope, so that a retry carries a new nonce and
 * timestamp (the same bytes again would be refused as a replay when the first try reached the cloud).
 */
type Body =
  | { json: unknown }
  | { each: () => unknown }
  | { form: FormData }
  | { raw: Uint8Array }
  | undefined;

/** A small client for the Cairn cloud API (/v1), shared by the agent and the role commands of the CLI. */
export class CloudApi {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token?: string,
    private readonly observe?: { request: RequestObserver; response: ResponseObserver },
  ) {
    this.baseUrl = checkCloudUrl(baseUrl);
  }

  /**
   * A JSON request; the answer is parsed with its route's schema (client/responses.ts), and typed by it when
   * the method and path are literal enough. `T` is only for callers that still name the shape themselves.
   */
  async json<T = never, M extends string = string, P extends string = string>(
    method: M,
    path: P,
    body?: Body,
  ): Promise<[T] extends [never] ? ResponseOf<M, P> : T> {
    const res = await this.send(method, path, body);
    return (await parseAnswer(method, new URL(path, this.baseUrl), await res.text())) as [T] extends [never]
      ? ResponseOf<M, P>
      : T;
  }

  /**
   * A binary download (a model). The cloud may answer with a redirect to its artifact store's presigned URL;
   * that one hop is followed here, without the API token: the URL is its own credential, the token must never
   * reach the bucket, and S3 refuses a request that carries both.
   */
  async bytes(path: string): Promise<Uint8Array> {
    const res = await this.send('GET', path, undefined, { redirect: 'manual' });
    if (res.status < 300 || res.status >= 400) return new Uint8Array(await res.arrayBuffer());
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (!location)
      throw new CloudRefusal(res.status, 'bad-redirect', 'The cloud redirected without a location.');
    const target = new URL(location, new URL(path, this.baseUrl));
    if (target.protocol !== 'https:' && target.protocol !== 'http:')
      throw new CloudRefusal(res.status, 'bad-redirect', `The cloud redirected to a ${target.protocol} URL.`);
    const artifact = await this.send('GET', target.toString(), undefined, {
      redirect: 'error',
      anonymous: true,
    });
    return new Uint8Array(await artifact.arrayBuffer());
  }

  /**
   * Uploads bytes to a presigned PUT URL the cloud handed out (a direct model upload): like the second hop of
   * `bytes`, without the API token, and with the signed query kept out of the sent-log.
   */
  async putPresigned(url: string, bytes: Uint8Array): Promise<void> {
    const target = new URL(url, this.baseUrl);
    if (target.protocol !== 'https:' && target.protocol !== 'http:')
      throw new CloudRefusal(400, 'bad-upload-url', `The cloud handed out a ${target.protocol} upload URL.`);
    const res = await this.send(
      'PUT',
      target.toString(),
      { raw: bytes },
      { redirect: 'error', anonymous: true },
    );
    await res.body?.cancel();
  }

  private async send(
    method: string,
    path: string,
    body: Body,
    opts: { redirect?: RequestInit['redirect']; anonymous?: boolean } = {},
  ): Promise<Response> {
    const url = new URL(path, this.baseUrl).toString();
    const headers: Record<string, string> = {};
    if (this.token && !opts.anonymous) headers.authorization = `Bearer ${this.token}`;
    let payload: RequestInit['body'];
    let logged: Uint8Array | null = null;
    if (body && 'form' in body) {
      // Serialise the multipart body once so the bytes logged are the bytes sent.
      const req = new Request(url, { method, body: body.form });
      headers['content-type'] = req.headers.get('content-type') ?? '';
      logged = new Uint8Array(await req.arrayBuffer());
      payload = logged;
    } else if (body && 'raw' in body) {
      // No content-type: a presigned PUT signs none, and the length comes from the bytes.
      logged = body.raw;
      payload = body.raw as Uint8Array<ArrayBuffer>;
    }
    const jsonBytes = (json: unknown) => {
      headers['content-type'] = 'application/json';
      logged = new TextEncoder().encode(JSON.stringify(json));
      payload = logged;
    };
    if (body && 'json' in body) jsonBytes(body.json);
    // A presigned URL's query is a credential for the bucket: the sent-log keeps where the request went, not that.
    const shown = opts.anonymous ? `${url.split('?')[0]}${url.includes('?') ? '?…' : ''}` : url;
    let logId = 0;
    let res: Response | undefined;
    // A pooled connection the server dropped (a restart, a proxy's idle timeout) fails the first request on
    // it; one more try on a fresh connection tells that apart from a cloud that is really gone.
    for (let attempt = 1; !res; attempt++) {
      if (body && 'each' in body) jsonBytes(body.each());
      // The sent-log has each distinct body that left; a retry of the same bytes is the same entry.
      if (attempt === 1 || (body && 'each' in body))
        logId = (await this.observe?.request({ method, url: shown, body: logged })) ?? 0;
      try {
        res = await fetch(url, { method, headers, body: payload, redirect: opts.redirect ?? 'follow' });
      } catch (err) {
        if (attempt < 2) {
          if (body && 'each' in body) await this.observe?.response(logId, null);
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        await this.observe?.response(logId, null);
        throw new CloudUnreachable(url, err);
      }
    }
    await this.observe?.response(logId, res.status);
    if (!res.ok && !(opts.redirect === 'manual' && res.status >= 300 && res.status < 400)) {
      const text = await res.text();
      let code = 'http-error';
      let message = `HTTP ${res.status}`;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? code;
        message = parsed.error?.message ?? message;
      } catch {
        // Not our error shape (a proxy, say): keep the status line.
      }
      throw new CloudRefusal(res.status, code, message);
    }
    return res;
  }
}
