import { CliError } from './errors.ts';

/** Called for every request before it is sent, with the exact body bytes (agents log these). */
export type RequestObserver = (request: {
  method: string;
  url: string;
  body: Uint8Array | null;
}) => Promise<number>;
export type ResponseObserver = (logId: number, status: number | null) => Promise<void>;

/** A refusal by the cloud: its HTTP status and the error code from `{ error: { code, message } }`. */
export class CloudRefusal extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`cloud refused (${status} ${code}): ${message}`);
    this.name = 'CloudRefusal';
  }
}

/** The cloud could not be reached at all (network down, wrong URL): work stays queued for later. */
export class CloudUnreachable extends CliError {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the cloud at ${new URL(url).origin}: ${(cause as Error)?.message ?? cause}`);
    this.name = 'CloudUnreachable';
  }
}

type Body = { json: unknown } | { form: FormData } | undefined;

/** A small client for the Cairn cloud API (/v1), shared by the agent and the role commands of the CLI. */
export class CloudApi {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    private readonly observe?: { request: RequestObserver; response: ResponseObserver },
  ) {}

  async json<T>(method: string, path: string, body?: Body): Promise<T> {
    const res = await this.send(method, path, body);
    return (await res.json()) as T;
  }

  async bytes(path: string): Promise<Uint8Array> {
    const res = await this.send('GET', path, undefined);
    return new Uint8Array(await res.arrayBuffer());
  }

  private async send(method: string, path: string, body: Body): Promise<Response> {
    const url = new URL(path, this.baseUrl).toString();
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload: RequestInit['body'];
    let logged: Uint8Array | null = null;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      logged = new TextEncoder().encode(JSON.stringify(body.json));
      payload = logged;
    } else if (body && 'form' in body) {
      // Serialise the multipart body once so the bytes logged are the bytes sent.
      const req = new Request(url, { method, body: body.form });
      headers['content-type'] = req.headers.get('content-type') ?? '';
      logged = new Uint8Array(await req.arrayBuffer());
      payload = logged;
    }
    const logId = (await this.observe?.request({ method, url, body: logged })) ?? 0;
    let res: Response | undefined;
    // A pooled connection the server dropped (a restart, a proxy's idle timeout) fails the first request on
    // it; one more try on a fresh connection tells that apart from a cloud that is really gone.
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await fetch(url, { method, headers, body: payload });
      } catch (err) {
        if (attempt < 2) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        await this.observe?.response(logId, null);
        throw new CloudUnreachable(url, err);
      }
    }
    await this.observe?.response(logId, res.status);
    if (!res.ok) {
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
