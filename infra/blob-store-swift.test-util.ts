import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SwiftS3 } from '../test/support/swift-s3.ts';
import type { BlobStore } from './blob-store.ts';
import { createS3BlobStore } from './blob-store-s3.ts';

/**
 * Blob-store test data, and the tests only a server that checks SigV4 signatures can run (Swift's s3api, in
 * blob-store.contract.test.ts).
 */

/** Every byte value, then random bytes: more than one chunk of a stream. */
export const everyByte = () => {
  const bytes = new Uint8Array(256 + 70_000);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  bytes.set(randomBytes(70_000), 256);
  return bytes;
};

export interface SwiftServer {
  swift: SwiftS3;
  client: S3Client;
  clientWith(credentials: { accessKeyId: string; secretAccessKey: string }): S3Client;
}

export function signatureChecks(server: () => SwiftServer): void {
  describe('the S3 store on a server that checks signatures (Swift s3api)', () => {
    const prefix = `${randomBytes(4).toString('hex')}/`;
    const a = everyByte();
    const b = new Uint8Array([1, 2, 3]);
    let store: BlobStore & { downloadUrl: NonNullable<BlobStore['downloadUrl']> };
    beforeAll(async () => {
      store = createS3BlobStore({ client: server().client, bucket: 'artifacts', prefix }) as typeof store;
      await store.put('models/a.onnx', a);
      await store.put('models/b.onnx', b);
    });
    /** What a URL answers to plain fetch, with no credentials: 200 and the bytes, or the S3 error. */
    const fetched = async (url: string | URL) => {
      const res = await fetch(url);
      const body = new Uint8Array(await res.arrayBuffer());
      if (res.ok) return { status: res.status, body };
      const xml = Buffer.from(body).toString();
      const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
      return { status: res.status, code: tag('Code'), message: tag('Message') };
    };

    it('hands out presigned GETs that plain fetch can use: the server computes the same signature', async () => {
      const url = await store.downloadUrl('models/a.onnx', 300);
      expect(new URL(url).searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(url).not.toContain(server().swift.secretAccessKey);
      expect(await fetched(url)).toEqual({ status: 200, body: a });
    });

    const tamperings: { what: string; tamper: (u: URL) => void }[] = [
      {
        what: 'its signature',
        tamper: (u) => {
          const sig = u.searchParams.get('X-Amz-Signature')!;
          u.searchParams.set('X-Amz-Signature', sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0'));
        },
      },
      // Another blob that exists: a server that checked nothing would answer 200 with b's bytes.
      {
        what: 'its key',
        tamper: (u) => {
          u.pathname = u.pathname.replace('/models/a.onnx', '/models/b.onnx');
        },
      },
      { what: 'its lifetime', tamper: (u) => u.searchParams.set('X-Amz-Expires', '604800') },
    ];
    it.each(tamperings)('refuses a presigned GET with $what changed (403)', async ({ tamper }) => {
      const url = new URL(await store.downloadUrl('models/a.onnx', 300));
      expect((await fetched(url)).status).toBe(200);
      tamper(url);
      expect(await fetched(url)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    });

    it('takes a presigned PUT from uploadUrl; refuses it tampered with, or with a body of another length (403)', async () => {
      const bytes = everyByte();
      const url = await store.uploadUrl!('uploads/signed.onnx', 300, bytes.byteLength);
      const tampered = new URL(url);
      const sig = tampered.searchParams.get('X-Amz-Signature')!;
      tampered.searchParams.set('X-Amz-Signature', sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0'));
      const put = async (u: string | URL, body: Uint8Array) => {
        const res = await fetch(u, { method: 'PUT', body });
        const xml = await res.text();
        return { status: res.status, code: /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] };
      };
      expect(await put(tampered, bytes)).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
      // Another key in the same URL: the key is signed too.
      const otherKey = new URL(url);
      otherKey.pathname = otherKey.pathname.replace('/uploads/signed.onnx', '/models/a.onnx');
      expect(await put(otherKey, bytes)).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(await put(url, bytes.subarray(1))).toMatchObject({ status: 403 });
      expect(await store.exists('uploads/signed.onnx')).toBe(false);
      expect(await put(url, bytes)).toEqual({ status: 200, code: undefined });
      expect(await store.get('uploads/signed.onnx')).toEqual(bytes);
      expect(await store.get('models/a.onnx')).toEqual(a);
    });

    it('refuses a presigned GET once its TTL has passed (403)', async () => {
      // X-Amz-Date has whole seconds and the URL lives until that second + TTL: sign just after a second starts
      // so that the 1 s URL is still valid for the first fetch.
      await new Promise((r) => setTimeout(r, 1020 - (Date.now() % 1000)));
      const url = await store.downloadUrl('models/b.onnx', 1);
      expect(await fetched(url)).toEqual({ status: 200, body: b });
      await new Promise((r) => setTimeout(r, 2000));
      expect(await fetched(url)).toEqual({
        status: 403,
        code: 'AccessDenied',
        message: 'Request has expired',
      });
    });

    it('refuses requests and URLs signed with a wrong secret or an unknown access key (403)', async () => {
      for (const credentials of [
        { accessKeyId: server().swift.accessKeyId, secretAccessKey: `${server().swift.secretAccessKey}x` },
        // Real S3 would name this one InvalidAccessKeyId; tempauth answers it like a wrong signature.
        { accessKeyId: 'cairn:nobody', secretAccessKey: server().swift.secretAccessKey },
      ]) {
        const client = server().clientWith(credentials);
        const wrong = createS3BlobStore({ client, bucket: 'artifacts', prefix }) as typeof store;
        const refused = { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } };
        const who = credentials.accessKeyId;
        await expect(wrong.get('models/a.onnx'), who).rejects.toMatchObject(refused);
        await expect(wrong.exists('models/a.onnx'), who).rejects.toMatchObject({
          $metadata: { httpStatusCode: 403 },
        });
        await expect(wrong.put('models/a.onnx', b), who).rejects.toMatchObject(refused);
        const url = await wrong.downloadUrl('models/a.onnx', 300);
        expect(await fetched(url), who).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
        client.destroy();
      }
      expect(await store.get('models/a.onnx')).toEqual(a);
    });
  });
}
