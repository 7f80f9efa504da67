import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SwiftS3, startSwiftS3 } from '../test/support/swift-s3.ts';
import { type BlobStore, directUploadsOf } from './blob-store.ts';
import { createFsBlobStore } from './blob-store-fs.ts';
import { createS3BlobStore, createS3Client } from './blob-store-s3.ts';
import { everyByte, signatureChecks } from './blob-store-swift.test-util.ts';

/**
 * One contract, every implementation. S3 runs against two real S3 protocol servers: fauxqs, in this process
 * (checks no signatures), and OpenStack Swift's s3api (Debian's packages; checks SigV4 signatures, so it also
 * proves that the presigned URLs are validly signed and that tampered or expired ones are refused).
 */

let fauxqs: FauxqsServer;
let s3: S3Client;
let swift: SwiftS3;
let swiftS3: S3Client;
let root: string;
/** A client for the Swift server, with the given credentials (by default the right ones). */
const swiftClient = (credentials?: { accessKeyId: string; secretAccessKey: string }) =>
  createS3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    credentials: credentials ?? { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    forcePathStyle: true,
  });

interface Backend {
  name: string;
  presigns: boolean;
  /** Starts what the store needs (a server, a folder), once for all of this backend's tests. */
  start(): Promise<void>;
  stop(): Promise<void>;
  open(): BlobStore;
  /** Tests only this backend can run. */
  more?: () => void;
}

const prefixed = () => `${randomBytes(4).toString('hex')}/`;

const BACKENDS: Backend[] = [
  {
    name: 'folder',
    presigns: false,
    start: async () => {
      root = mkdtempSync(join(tmpdir(), 'cairn-blob-contract-'));
    },
    stop: async () => rmSync(root, { recursive: true, force: true }),
    open: () => createFsBlobStore(join(root, randomBytes(4).toString('hex'))),
  },
  {
    name: 'S3 (fauxqs)',
    presigns: true,
    start: async () => {
      fauxqs = await startFauxqs({ port: 0, logger: false });
      fauxqs.createBucket('artifacts');
      s3 = createS3Client({
        endpoint: fauxqs.address,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        forcePathStyle: true,
      });
    },
    stop: async () => {
      s3?.destroy();
      await fauxqs?.stop();
    },
    open: () => createS3BlobStore({ client: s3, bucket: 'artifacts', prefix: prefixed() }),
    more: theS3Store,
  },
  {
    name: 'S3 (Swift s3api)',
    presigns: true,
    start: async () => {
      swift = await startSwiftS3();
      swiftS3 = swiftClient();
      await swiftS3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    },
    stop: async () => {
      swiftS3?.destroy();
      await swift?.stop();
    },
    open: () => createS3BlobStore({ client: swiftS3, bucket: 'artifacts', prefix: prefixed() }),
    more: () => signatureChecks(() => ({ swift, client: swiftS3, clientWith: swiftClient })),
  },
];

// One scope per backend: its server starts in its own beforeAll, so one that cannot start fails only its tests.
for (const backend of BACKENDS)
  describe(backend.name, () => {
    beforeAll(backend.start);
    afterAll(backend.stop);
    theBlobStoreContract(backend);
    streams(backend);
    directUploads(backend);
    backend.more?.();
  });

function theBlobStoreContract({ presigns, open }: Backend): void {
  describe('theBlobStoreContract', () => {
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
}

function streams({ open }: Backend): void {
  describe('streams', () => {
    async function read(store: BlobStore, key: string): Promise<Uint8Array | null> {
      const stream = await store.getStream(key);
      if (!stream) return null;
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      return new Uint8Array(Buffer.concat(chunks));
    }
    async function* inChunks(bytes: Uint8Array, size: number) {
      for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
    }

    it('stores a stream of many chunks (more than one S3 part) and streams it back; size, copy and delete', async () => {
      const store = open();
      const bytes = new Uint8Array(Buffer.concat([everyByte(), randomBytes(9 * 1024 * 1024)]));
      expect(await store.putStream('models/big.onnx', inChunks(bytes, 300_000))).toBe(bytes.byteLength);
      expect(await store.size('models/big.onnx')).toBe(bytes.byteLength);
      // (Compared as Buffers: a deep equality of 9 M elements takes minutes.)
      expect(Buffer.from((await read(store, 'models/big.onnx'))!).equals(bytes)).toBe(true);
      expect(await store.copy('models/big.onnx', 'models/copy.onnx')).toBe(true);
      expect(await store.size('models/copy.onnx')).toBe(bytes.byteLength);
      await store.delete('models/big.onnx');
      expect(await store.exists('models/big.onnx')).toBe(false);
      expect(await store.size('models/big.onnx')).toBeNull();
      expect(await read(store, 'models/big.onnx')).toBeNull();
      expect(await store.copy('models/big.onnx', 'models/again.onnx')).toBe(false);
      await store.delete('models/big.onnx'); // a missing blob is not an error
    });

    it('stores an empty stream as an empty blob', async () => {
      const store = open();
      expect(await store.putStream('models/empty.onnx', inChunks(new Uint8Array(), 1))).toBe(0);
      expect(await store.get('models/empty.onnx')).toEqual(new Uint8Array());
    });

    it('stores nothing when the stream fails midway, and rethrows its error', async () => {
      const store = open();
      async function* failing() {
        yield randomBytes(6 * 1024 * 1024);
        yield randomBytes(3 * 1024 * 1024);
        throw new RangeError('the client went away');
      }
      await expect(store.putStream('models/half.onnx', failing())).rejects.toThrow('the client went away');
      expect(await store.exists('models/half.onnx')).toBe(false);
    });
  });
}

function directUploads({ presigns, open }: Backend): void {
  describe('directUploads', () => {
    it(
      presigns
        ? 'takes a presigned PUT from plain fetch, streams it, copies it and deletes it'
        : 'has no direct uploads',
      async () => {
        const store = open();
        expect(directUploadsOf(store) !== null).toBe(presigns);
        const direct = directUploadsOf(store);
        if (!direct) return;
        const bytes = everyByte();
        const url = await direct.uploadUrl('uploads/u1.onnx', 300, bytes.byteLength);
        const put = await fetch(url, { method: 'PUT', body: bytes });
        expect(put.status).toBe(200);
        const chunks: Uint8Array[] = [];
        for await (const chunk of (await direct.getStream('uploads/u1.onnx'))!) chunks.push(chunk);
        expect(new Uint8Array(Buffer.concat(chunks))).toEqual(bytes);
        expect(await direct.copy('uploads/u1.onnx', 'models/u1.onnx')).toBe(true);
        expect(await direct.get('models/u1.onnx')).toEqual(bytes);
        await direct.delete('uploads/u1.onnx');
        expect(await direct.exists('uploads/u1.onnx')).toBe(false);
        await direct.delete('uploads/u1.onnx');
        expect(await direct.getStream('uploads/u1.onnx')).toBeNull();
        expect(await direct.copy('uploads/u1.onnx', 'models/u2.onnx')).toBe(false);
        expect(await direct.exists('models/u2.onnx')).toBe(false);
        await expect(direct.uploadUrl('../x', 300, 1)).rejects.toThrow(TypeError);
        await expect(direct.copy('models/u1.onnx', 'A.onnx')).rejects.toThrow(TypeError);
      },
    );
  });
}

function theS3Store(): void {
  describe('the S3 store', () => {
    const checksumParams = (url: string) =>
      [...new URL(url).searchParams.keys()].filter((k) => k.toLowerCase().startsWith('x-amz-checksum'));

    it('presigns URLs without checksum parameters (real S3 rejects an empty-body checksum)', async () => {
      const store = createS3BlobStore({ client: s3, bucket: 'artifacts' });
      const url = await store.downloadUrl!('models/abc.onnx', 300);
      expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('300');
      expect(checksumParams(url)).toEqual([]);
      const upload = new URL(await store.uploadUrl!('uploads/abc.onnx', 900, 7_000_000));
      expect(checksumParams(upload.toString())).toEqual([]);
      expect(upload.searchParams.get('X-Amz-Expires')).toBe('900');
      // The length is signed: S3 refuses a body of another length.
      expect(upload.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length');
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
      expect(await createS3BlobStore({ client: s3, bucket: 'artifacts' }).exists('models/p.onnx')).toBe(
        false,
      );
      for (const prefix of ['stage-a', '../', '/x/', 'A/'])
        expect(() => createS3BlobStore({ client: s3, bucket: 'artifacts', prefix }), prefix).toThrow(
          TypeError,
        );
      for (const ttl of [0, -1, 1.5, 8 * 24 * 3600]) {
        await expect(store.downloadUrl!('models/p.onnx', ttl), String(ttl)).rejects.toThrow(RangeError);
        await expect(store.uploadUrl!('uploads/p.onnx', ttl, 1), String(ttl)).rejects.toThrow(RangeError);
      }
      for (const length of [-1, 1.5, Number.NaN])
        await expect(store.uploadUrl!('uploads/p.onnx', 60, length), String(length)).rejects.toThrow(
          RangeError,
        );
    });

    it('does not mistake a missing bucket for a missing blob', async () => {
      const store = createS3BlobStore({ client: s3, bucket: 'no-such-bucket' });
      await expect(store.get('models/abc.onnx')).rejects.toThrow();
    });
  });
}
