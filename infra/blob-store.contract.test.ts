import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.ts';
import { createFsBlobStore } from './blob-store-fs.ts';
import { createS3BlobStore, createS3Client } from './blob-store-s3.ts';

/** One contract, every implementation: S3 runs against fauxqs, a real S3 protocol server, in this process. */

let fauxqs: FauxqsServer;
let s3: S3Client;
let root: string;
beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  fauxqs.createBucket('artifacts');
  s3 = createS3Client({
    endpoint: fauxqs.address,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    forcePathStyle: true,
  });
  root = mkdtempSync(join(tmpdir(), 'cairn-blob-contract-'));
});
afterAll(async () => {
  s3?.destroy();
  await fauxqs?.stop();
  rmSync(root, { recursive: true, force: true });
});

const implementations: { name: string; presigns: boolean; open: () => BlobStore }[] = [
  {
    name: 'folder',
    presigns: false,
    open: () => createFsBlobStore(join(root, randomBytes(4).toString('hex'))),
  },
  {
    name: 'S3 (fauxqs)',
    presigns: true,
    open: () =>
      createS3BlobStore({ client: s3, bucket: 'artifacts', prefix: `${randomBytes(4).toString('hex')}/` }),
  },
];

const everyByte = () => {
  const bytes = new Uint8Array(256 + 70_000);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  bytes.set(randomBytes(70_000), 256);
  return bytes;
};

describe.each(implementations)('the blob store contract: $name', ({ presigns, open }) => {
  it('round-trips binary bytes exactly, and a second put replaces the first', async () => {
    const store = open();
    const bytes = everyByte();
    await store.put('models/abc.onnx', bytes);
    expect(await store.get('models/abc.onnx')).toEqual(bytes);
    expect(await store.exists('models/abc.onnx')).toBe(true);
    await store.put('models/abc.onnx', new Uint8Array([4]));
    expect(await store.get('models/abc.onnx')).toEqual(new Uint8Array([4]));
    await store.put('models/empty.onnx', new Uint8Array());
    expect(await store.get('models/empty.onnx')).toEqual(new Uint8Array());
  });

  it('answers null / false for a missing key', async () => {
    const store = open();
    expect(await store.get('models/none.onnx')).toBeNull();
    expect(await store.exists('models/none.onnx')).toBe(false);
  });

  it('refuses keys that could leave the root or differ between backends', async () => {
    const store = open();
    for (const key of [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      'A.onnx',
      'a\\b',
      '',
      'a/./b',
      'models/x y',
    ]) {
      await expect(store.put(key, new Uint8Array([1])), key).rejects.toThrow(TypeError);
      await expect(store.get(key), key).rejects.toThrow(TypeError);
      await expect(store.exists(key), key).rejects.toThrow(TypeError);
      if (store.downloadUrl) await expect(store.downloadUrl(key, 60), key).rejects.toThrow(TypeError);
    }
  });

  it(presigns ? 'hands out download URLs that plain fetch can GET' : 'has no download URLs', async () => {
    const store = open();
    expect(typeof store.downloadUrl).toBe(presigns ? 'function' : 'undefined');
    if (!store.downloadUrl) return;
    const bytes = everyByte();
    await store.put('models/dl.onnx', bytes);
    const res = await fetch(await store.downloadUrl('models/dl.onnx', 300));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    expect((await fetch(await store.downloadUrl('models/none.onnx', 300))).status).toBe(404);
  });
});

describe('the S3 store', () => {
  const checksumParams = (url: string) =>
    [...new URL(url).searchParams.keys()].filter((k) => k.toLowerCase().startsWith('x-amz-checksum'));

  it('presigns URLs without checksum parameters (real S3 rejects an empty-body checksum)', async () => {
    const store = createS3BlobStore({ client: s3, bucket: 'artifacts' });
    const url = await store.downloadUrl!('models/abc.onnx', 300);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('300');
    expect(checksumParams(url)).toEqual([]);
    // The client's checksum setting is what keeps them out: a PUT presigned with it has none, while a client
    // left at the SDK's default adds one (so this test would catch the setting being dropped).
    const put = new PutObjectCommand({ Bucket: 'artifacts', Key: 'models/up.onnx' });
    expect(checksumParams(await getSignedUrl(s3, put, { expiresIn: 300 }))).toEqual([]);
    const defaults = new S3Client({
      endpoint: fauxqs.address,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      forcePathStyle: true,
    });
    expect(checksumParams(await getSignedUrl(defaults, put, { expiresIn: 300 }))).not.toEqual([]);
    defaults.destroy();
  });

  it('keeps blobs under its prefix, and refuses bad prefixes and TTLs', async () => {
    const store = createS3BlobStore({ client: s3, bucket: 'artifacts', prefix: 'stage-a/' });
    await store.put('models/p.onnx', new Uint8Array([7, 8]));
    const raw = await s3.send(new GetObjectCommand({ Bucket: 'artifacts', Key: 'stage-a/models/p.onnx' }));
    expect(await raw.Body!.transformToByteArray()).toEqual(new Uint8Array([7, 8]));
    expect(await createS3BlobStore({ client: s3, bucket: 'artifacts' }).exists('models/p.onnx')).toBe(false);
    for (const prefix of ['stage-a', '../', '/x/', 'A/'])
      expect(() => createS3BlobStore({ client: s3, bucket: 'artifacts', prefix }), prefix).toThrow(TypeError);
    for (const ttl of [0, -1, 1.5, 8 * 24 * 3600])
      await expect(store.downloadUrl!('models/p.onnx', ttl), String(ttl)).rejects.toThrow(RangeError);
  });

  it('does not mistake a missing bucket for a missing blob', async () => {
    const store = createS3BlobStore({ client: s3, bucket: 'no-such-bucket' });
    await expect(store.get('models/abc.onnx')).rejects.toThrow();
  });
});
