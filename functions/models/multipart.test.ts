import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { multipartBoundary, partText, readMultipart } from './multipart.ts';

/** A multipart body as fetch encodes FormData, with its content type. */
async function encoded(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const req = new Request('http://x/', { method: 'POST', body: form });
  const boundary = multipartBoundary(req.headers.get('content-type'));
  if (!boundary) throw new Error('no boundary');
  return { bytes: new Uint8Array(await req.arrayBuffer()), boundary };
}

async function* inChunks(bytes: Uint8Array, size: number) {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

async function parts(bytes: Uint8Array, boundary: string, chunk: number) {
  const out: { name: string; filename?: string; bytes: Buffer }[] = [];
  for await (const part of readMultipart(inChunks(bytes, chunk), boundary)) {
    const chunks: Uint8Array[] = [];
    for await (const c of part.body) chunks.push(c);
    out.push({
      name: part.name,
      ...(part.filename === undefined ? {} : { filename: part.filename }),
      bytes: Buffer.concat(chunks),
    });
  }
  return out;
}

describe('the streaming multipart reader', () => {
  it('reads what fetch encodes, part by part, however the body is chunked', async () => {
    const file = randomBytes(50_000);
    // A file whose bytes contain CRLF and dashes, the delimiter's own characters.
    file.set(Buffer.from('\r\n--\r\n--'), 1000);
    const form = new FormData();
    form.set('manifest', '{"a":1}');
    form.set('onnx', new Blob([file]), 'model.onnx');
    form.set('signature', 'sig');
    const { bytes, boundary } = await encoded(form);
    for (const chunk of [1, 7, 70, 4096, bytes.byteLength]) {
      const got = await parts(bytes, boundary, chunk);
      expect(got.map((p) => p.name)).toEqual(['manifest', 'onnx', 'signature']);
      expect(got[0]!.bytes.toString()).toBe('{"a":1}');
      expect(got[1]!.filename).toBe('model.onnx');
      expect(got[1]!.bytes.equals(file)).toBe(true);
      expect(got[2]!.bytes.toString()).toBe('sig');
    }
  });

  it('skips the parts a reader leaves unread', async () => {
    const form = new FormData();
    form.set('extra', new Blob([randomBytes(10_000)]), 'x.bin');
    form.set('manifest', 'm');
    const { bytes, boundary } = await encoded(form);
    const names: string[] = [];
    let manifest = '';
    for await (const part of readMultipart(inChunks(bytes, 999), boundary)) {
      names.push(part.name);
      if (part.name === 'manifest') manifest = await partText(part, 100);
    }
    expect(names).toEqual(['extra', 'manifest']);
    expect(manifest).toBe('m');
  });

  it('refuses a truncated body, a part without a name and an oversized field with 400', async () => {
    const form = new FormData();
    form.set('manifest', 'x'.repeat(200));
    const { bytes, boundary } = await encoded(form);
    const truncated = parts(bytes.subarray(0, bytes.byteLength - 10), boundary, 64);
    await expect(truncated).rejects.toMatchObject({ status: 400, code: 'invalid-request' });
    const nameless = Buffer.from(`--${boundary}\r\ncontent-type: text/plain\r\n\r\nx\r\n--${boundary}--\r\n`);
    await expect(parts(nameless, boundary, 8)).rejects.toBeInstanceOf(ApiError);
    const big = async () => {
      for await (const part of readMultipart(inChunks(bytes, 64), boundary)) await partText(part, 100);
    };
    await expect(big()).rejects.toMatchObject({ status: 400, code: 'invalid-request' });
  });

  it('reads the boundary from the content type, quoted or not; other types have none', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(multipartBoundary('multipart/form-data; boundary="a b"')).toBe('a b');
    expect(multipartBoundary('application/json')).toBeNull();
    expect(multipartBoundary(null)).toBeNull();
  });
});
