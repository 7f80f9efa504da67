import { ApiError } from '../errors.ts';

/**
 * A streaming reader of multipart/form-data (RFC 7578): parts one after the other, each body a stream of
 * chunks, so that a model of hundreds of MiB goes from the socket to the blob store without being held
 * (`Request.formData()` buffers the whole body). A part's body must be read, or left, before the next part;
 * what is left is skipped. Malformed bodies are 400 invalid-request.
 */

export interface StreamedPart {
  name: string;
  filename?: string;
  body: AsyncIterable<Uint8Array>;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

const malformed = () => new ApiError(400, 'invalid-request', 'The multipart body could not be read.');

export function multipartBoundary(contentType: string | null): string | null {
  if (!contentType?.toLowerCase().startsWith('multipart/form-data')) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

export async function* readMultipart(
  body: AsyncIterable<Uint8Array>,
  boundary: string,
): AsyncGenerator<StreamedPart> {
  const iterator = body[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  const more = async () => {
    const next = await iterator.next();
    if (next.done) return false;
    buf = buf.byteLength === 0 ? Buffer.from(next.value) : Buffer.concat([buf, next.value]);
    return true;
  };
  const dashBoundary = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.concat([CRLF, dashBoundary]);
  try {
    // The preamble, up to the first boundary (at the very start, or after a CRLF).
    for (;;) {
      const at = buf.indexOf(dashBoundary);
      if (at >= 0) {
        buf = buf.subarray(at + dashBoundary.byteLength);
        break;
      }
      buf = buf.subarray(Math.max(0, buf.byteLength - dashBoundary.byteLength));
      if (!(await more())) throw malformed();
    }
    for (;;) {
      // After a boundary: "--" ends the body, CRLF starts a part.
      while (buf.byteLength < 2) if (!(await more())) throw malformed();
      if (buf[0] === 0x2d && buf[1] === 0x2d) return;
      if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw malformed();
      buf = buf.subarray(2);
      let headerEnd = buf.indexOf(HEADER_END);
      while (headerEnd < 0) {
        if (buf.byteLength > MAX_HEADER_BYTES || !(await more())) throw malformed();
        headerEnd = buf.indexOf(HEADER_END);
      }
      const headers = buf.subarray(0, headerEnd).toString('utf8');
      buf = buf.subarray(headerEnd + HEADER_END.byteLength);
      const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1];
      const name = disposition && /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
      if (!disposition || name === undefined || name === null) throw malformed();
      const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];

      let ended = false;
      async function* partBody(): AsyncGenerator<Uint8Array> {
        for (;;) {
          const at = buf.indexOf(delimiter);
          if (at >= 0) {
            const last = buf.subarray(0, at);
            buf = buf.subarray(at + delimiter.byteLength);
            ended = true;
            if (last.byteLength > 0) yield last;
            return;
          }
          // Everything but what could be the start of the delimiter is part data.
          const safe = buf.byteLength - (delimiter.byteLength - 1);
          if (safe > 0) {
            const chunk = buf.subarray(0, safe);
            buf = buf.subarray(safe);
            yield chunk;
          }
          if (!(await more())) throw malformed();
        }
      }
      const part = partBody();
      yield { name, ...(filename === undefined ? {} : { filename }), body: part };
      if (!ended) for await (const _ of part); // what the reader left is skipped
      if (!ended) throw malformed();
    }
  } finally {
    await iterator.return?.();
  }
}

/** A small part (a JSON field) as text; more than `max` bytes is 400. */
export async function partText(part: StreamedPart, max: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of part.body) {
    size += c.byteLength;
    if (size > max)
      throw new ApiError(
        400,
        'invalid-request',
        `The "${safeName(part.name)}" field is larger than ${max} bytes.`,
      );
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const safeName = (name: string) => (/^[a-z]{1,20}$/.test(name) ? name : 'form');
