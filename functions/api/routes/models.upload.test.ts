import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportRawPublicKey, generateEd25519KeyPair } from '../../../crypto/ed25519.ts';
import { createS3BlobStore } from '../../../infra/blob-store-s3.ts';
import { ModelManifest } from '../../../schemas/model-manifest.ts';
import { signModelManifest } from '../../../schemas/model-signature.ts';
import { auditLog, models, modelUploads } from '../../db/schema.ts';
import {
  call,
  type Loose,
  openTestCloud,
  refusal,
  seedNetwork,
  type TestCloud,
  testManifest,
  testOnnxOfSize,
  useLocalAws,
  withAdapters,
} from '../../test-fixtures.ts';

/**
 * Direct model uploads (POST /v1/models/uploads → presigned PUT → POST /v1/models/uploads/:id/complete) on
 * a real S3 protocol server (fauxqs, behind a recording proxy), and the embedded cloud's refusal of them.
 */

const local = useLocalAws();
let dir: string;

let embedded: TestCloud;
let cloud: TestCloud;
let prefix: string;
let net: Awaited<ReturnType<typeof seedNetwork>>;
const LIMIT = 64 * 1024;

/** A test cloud whose models live in the bucket (under a prefix of its own); `limit` is its model limit. */
async function openS3Cloud(limit?: number) {
  embedded = await openTestCloud(limit ? { limits: { modelUploadBytes: limit } } : {});
  prefix = `${randomBytes(4).toString('hex')}/`;
  cloud = withAdapters(embedded, {
    blobs: createS3BlobStore({ client: local.s3, bucket: local.aws.bucket, prefix }),
  });
  net = await seedNetwork(cloud);
  dir = mkdtempSync(join(tmpdir(), 'cairn-upload-'));
}
afterEach(() => {
  embedded?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const count = async (table: typeof models | typeof auditLog) =>
  (await embedded.deps.db.select().from(table)).length;
/** The keys in this cloud's part of the bucket. */
async function bucketKeys(): Promise<string[]> {
  const listed = await local.s3.send(new ListObjectsV2Command({ Bucket: local.aws.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
}

function createUpload(token: string, size: number) {
  return call(cloud, 'POST', '/v1/models/uploads', { token, json: { size } });
}
function complete(token: string, uploadId: string, body: Loose) {
  return call(cloud, 'POST', `/v1/models/uploads/${uploadId}/complete`, { token, json: body });
}
async function put(url: string, bytes: Uint8Array) {
  const res = await fetch(url, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer> });
  expect(res.status).toBe(200);
}

/** The whole exchange; `bytes` is what is PUT (null: nothing), `size` what is declared. */
async function directUpload(
  token: string,
  manifest: Loose,
  onnx: Uint8Array,
  opts: { bytes?: Uint8Array | null; size?: number; signature?: unknown } = {},
) {
  const created = await createUpload(token, opts.size ?? onnx.byteLength);
  expect(created.status).toBe(201);
  const bytes = opts.bytes === undefined ? onnx : opts.bytes;
  if (bytes) await put(created.body.url, bytes);
  const body = { manifest, ...(opts.signature !== undefined ? { signature: opts.signature } : {}) };
  return {
    uploadId: created.body.uploadId as string,
    ...(await complete(token, created.body.uploadId, body)),
  };
}

describe('direct model uploads on the embedded cloud (a folder)', () => {
  it('are refused with 409 direct-upload-unavailable: the multipart route is the way', async () => {
    embedded = await openTestCloud();
    const r = await call(embedded, 'POST', '/v1/models/uploads', {
      token: embedded.adminToken,
      json: { size: 10 },
    });
    expect(refusal(r)).toEqual({ status: 409, code: 'direct-upload-unavailable' });
    expect(r.body.error.message).toContain('multipart/form-data');
  });
});

describe('direct model uploads to S3', () => {
  beforeEach(() => openS3Cloud(LIMIT));

  it('register the model as the multipart route does, move the bytes to models/<sha256>.onnx and clean up', async () => {
    const onnx = testOnnxOfSize(40_000);
    const manifest = testManifest({ version: '2.0.0' });
    const created = await createUpload(net.acmeToken, onnx.byteLength);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      uploadId: expect.stringMatching(/^upl_[0-9a-f]{32}$/),
      method: 'PUT',
    });
    const url = new URL(created.body.url);
    expect(url.pathname).toBe(`/${local.aws.bucket}/${prefix}uploads/${created.body.uploadId}.onnx`);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
    expect([...url.searchParams.keys()].filter((k) => /^x-amz-checksum/i.test(k))).toEqual([]);
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length');
    await put(created.body.url, onnx);

    const r = await complete(net.acmeToken, created.body.uploadId, { manifest });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      modelId: expect.stringMatching(/^mdl_/),
      sha256: sha256(onnx),
      manifest: ModelManifest.parse({ ...manifest, sha256: sha256(onnx) }),
      signingKeyId: null,
    });
    // Staged and sealed copies are gone; the model's bytes are where downloads look for them.
    const keys = await bucketKeys();
    expect(keys.filter((k) => k.startsWith('uploads/'))).toEqual([]);
    expect(keys).toContain(`models/${sha256(onnx)}.onnx`);
    const download = await call(cloud, 'GET', `/v1/models/${r.body.modelId}/onnx`, { token: net.acmeToken });
    expect(download.status).toBe(302);
    const bytes = new Uint8Array(await (await fetch(download.res.headers.get('location')!)).arrayBuffer());
    expect(sha256(bytes)).toBe(sha256(onnx));

    // One audited submission, naming the upload; the upload is used up.
    const [last] = await embedded.deps.db
      .select()
      .from(auditLog)
      .orderBy(auditLog.seq)
      .limit(1)
      .offset((await count(auditLog)) - 1);
    expect(last).toMatchObject({ action: 'model.submitted', target: r.body.modelId });
    expect(JSON.parse(last!.detail)).toMatchObject({ uploadId: created.body.uploadId, sha256: sha256(onnx) });
    const [row] = await embedded.deps.db
      .select()
      .from(modelUploads)
      .where(eq(modelUploads.id, created.body.uploadId));
    expect(row).toMatchObject({ modelId: r.body.modelId, vendorId: 'acme' });
    const again = await complete(net.acmeToken, created.body.uploadId, {
      manifest: testManifest({ version: '2.0.1' }),
    });
    expect(refusal(again)).toEqual({ status: 409, code: 'upload-completed' });
  });

  it('refuses stored bytes that are not ONNX or do not fit the manifest (422, field named); the staged object is deleted', async () => {
    const before = await count(models);
    const garbage = await directUpload(net.acmeToken, testManifest({ version: '2.0.0' }), randomBytes(3000));
    expect(refusal(garbage)).toEqual({ status: 422, code: 'not-onnx' });
    expect(garbage.body.error.field).toBe('onnx');
    const renamed = testManifest({
      version: '2.0.0',
      input: { name: 'pixels', channels: 1, height: 64, width: 64 },
    });
    const wrong = await directUpload(net.acmeToken, renamed, testOnnxOfSize(3000));
    expect(refusal(wrong)).toEqual({ status: 422, code: 'input-name-mismatch' });
    expect(wrong.body.error.field).toBe('input.name');
    expect(await count(models)).toBe(before);
    expect((await bucketKeys()).filter((k) => k.startsWith('uploads/'))).toEqual([]);
    // Refused before any byte is read: a sigmoid threshold outside [0, 1].
    const threshold = await directUpload(
      net.acmeToken,
      testManifest({ version: '2.0.0', threshold: 1.5 }),
      testOnnxOfSize(3000),
    );
    expect(refusal(threshold)).toEqual({ status: 422, code: 'threshold-out-of-range' });
  });

  it('an upload refused for its manifest can be completed once the manifest is fixed', async () => {
    const onnx = testOnnxOfSize(1000);
    const wrong = await directUpload(
      net.acmeToken,
      testManifest({ version: '2.0.0', sha256: 'a'.repeat(64) }),
      onnx,
    );
    expect(refusal(wrong)).toEqual({ status: 400, code: 'sha256-mismatch' });
    const fixed = await complete(net.acmeToken, wrong.uploadId, {
      manifest: testManifest({ version: '2.0.0' }),
    });
    expect(fixed.status).toBe(201);
  });

  it('one upload becomes one model, even when two completes with different versions race', async () => {
    const onnx = testOnnxOfSize(2000);
    const created = await createUpload(net.acmeToken, onnx.byteLength);
    await put(created.body.url, onnx);
    const before = await count(models);
    const answers = await Promise.all(
      ['3.0.0', '3.1.0', '3.2.0'].map((version) =>
        complete(net.acmeToken, created.body.uploadId, { manifest: testManifest({ version }) }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    expect(answers.filter((a) => a.status === 409).map((a) => a.body.error.code)).toEqual([
      'upload-completed',
      'upload-completed',
    ]);
    expect(await count(models)).toBe(before + 1);
    const [upload] = await embedded.deps.db
      .select()
      .from(modelUploads)
      .where(eq(modelUploads.id, created.body.uploadId));
    expect(upload?.modelId).toBe(answers.find((a) => a.status === 201)?.body.modelId);
  });

  describe('refusals leave no model, no audit entry and no stored artifact', () => {
    let before: { models: number; audit: number; keys: string[] };
    beforeEach(async () => {
      before = { models: await count(models), audit: await count(auditLog), keys: await bucketKeys() };
    });
    afterEach(async () => {
      expect(await count(models)).toBe(before.models);
      expect(await count(auditLog)).toBe(before.audit);
      expect((await bucketKeys()).filter((k) => k.startsWith('models/'))).toEqual(
        before.keys.filter((k) => k.startsWith('models/')),
      );
      expect((await bucketKeys()).filter((k) => k.endsWith('.sealed'))).toEqual([]);
    });
    const manifest = () => testManifest({ version: '7.0.0' });

    it('an unknown upload id → 404 upload-not-found', async () => {
      const r = await complete(net.acmeToken, `upl_${'0'.repeat(32)}`, { manifest: manifest() });
      expect(refusal(r)).toEqual({ status: 404, code: 'upload-not-found' });
    });

    it("another vendor's upload → 404 upload-not-found; another admin's → 404 too", async () => {
      const created = await createUpload(net.acmeToken, 100);
      await put(created.body.url, randomBytes(100));
      const globex = await complete(net.globexToken, created.body.uploadId, {
        manifest: testManifest({ vendor: 'globex', version: '7.0.0' }),
      });
      expect(refusal(globex)).toEqual({ status: 404, code: 'upload-not-found' });
      const byAdmin = await createUpload(cloud.adminToken, 100);
      const r = await complete(net.acmeToken, byAdmin.body.uploadId, { manifest: manifest() });
      expect(refusal(r)).toEqual({ status: 404, code: 'upload-not-found' });
    });

    it('an expired upload → 410 upload-expired', async () => {
      const created = await createUpload(net.acmeToken, 100);
      await put(created.body.url, randomBytes(100));
      embedded.deps.clock.advance(61 * 60 * 1000);
      const r = await complete(net.acmeToken, created.body.uploadId, { manifest: manifest() });
      expect(refusal(r)).toEqual({ status: 410, code: 'upload-expired' });
    });

    it('nothing PUT yet → 409 upload-missing', async () => {
      const r = await directUpload(net.acmeToken, manifest(), randomBytes(100), { bytes: null });
      expect(refusal(r)).toEqual({ status: 409, code: 'upload-missing' });
    });

    it('too large: declared → 413 at creation; stored (the bucket did not check the length) → 413', async () => {
      expect(refusal(await createUpload(net.acmeToken, LIMIT + 1))).toEqual({
        status: 413,
        code: 'model-too-large',
      });
      const r = await directUpload(net.acmeToken, manifest(), randomBytes(LIMIT), {
        bytes: randomBytes(LIMIT + 1),
      });
      expect(refusal(r)).toEqual({ status: 413, code: 'model-too-large' });
    });

    it('a stored object of another length than declared → 400 upload-size-mismatch', async () => {
      const r = await directUpload(net.acmeToken, manifest(), randomBytes(100), { bytes: randomBytes(99) });
      expect(refusal(r)).toEqual({ status: 400, code: 'upload-size-mismatch' });
    });

    it('a manifest sha256 that differs from the stored bytes → 400 sha256-mismatch', async () => {
      const r = await directUpload(
        net.acmeToken,
        testManifest({ version: '7.0.0', sha256: 'b'.repeat(64) }),
        randomBytes(100),
      );
      expect(refusal(r)).toEqual({ status: 400, code: 'sha256-mismatch' });
    });

    it('a vendor with a key: unsigned → 400 signature-required; signed over other bytes → 400 bad-model-signature', async () => {
      const keys = generateEd25519KeyPair();
      const registered = await call(cloud, 'POST', '/v1/vendors/acme/keys', {
        token: net.acmeToken,
        json: { publicKey: exportRawPublicKey(keys.publicKey) },
      });
      expect(registered.status).toBe(201);
      before.audit = await count(auditLog);
      const onnx = randomBytes(100);
      const unsigned = await directUpload(net.acmeToken, manifest(), onnx);
      expect(refusal(unsigned)).toEqual({ status: 400, code: 'signature-required' });
      const otherBytes = createHash('sha256').update(randomBytes(100)).digest('hex');
      const signature = signModelManifest(ModelManifest.parse(manifest()), otherBytes, keys.privateKey);
      const bad = await directUpload(net.acmeToken, manifest(), onnx, { signature });
      expect(refusal(bad)).toEqual({ status: 400, code: 'bad-model-signature' });
      const malformed = await directUpload(net.acmeToken, manifest(), onnx, { signature: { keyId: 'x' } });
      expect(refusal(malformed)).toEqual({ status: 400, code: 'invalid-signature' });
    });

    it("an invalid manifest → 400 invalid-manifest; another vendor's manifest → 403; a taken version → 409", async () => {
      const onnx = randomBytes(100);
      const invalid = await directUpload(net.acmeToken, { ...manifest(), threshold: 'high' }, onnx);
      expect(refusal(invalid)).toEqual({ status: 400, code: 'invalid-manifest' });
      const foreign = await complete(net.acmeToken, invalid.uploadId, {
        manifest: testManifest({ vendor: 'globex', version: '7.0.0' }),
      });
      expect(refusal(foreign)).toEqual({ status: 403, code: 'forbidden' });
      const taken = await complete(net.acmeToken, invalid.uploadId, { manifest: testManifest() });
      expect(refusal(taken)).toEqual({ status: 409, code: 'model-exists' });
    });

    it('bad requests → 400; coordinators and sites → 403', async () => {
      for (const json of [{}, { size: 0 }, { size: 1.5 }, { size: 10, extra: 1 }]) {
        const r = await call(cloud, 'POST', '/v1/models/uploads', { token: net.acmeToken, json });
        expect(refusal(r), JSON.stringify(json)).toEqual({ status: 400, code: 'invalid-request' });
      }
      const created = await createUpload(net.acmeToken, 10);
      const noManifest = await complete(net.acmeToken, created.body.uploadId, {});
      expect(refusal(noManifest)).toEqual({ status: 400, code: 'invalid-request' });
      const badId = await complete(net.acmeToken, 'upl_../x', { manifest: manifest() });
      expect(badId.status).toBe(404);
      for (const token of [net.northToken, net.siteA.token]) {
        expect((await createUpload(token, 10)).status).toBe(403);
        expect((await complete(token, created.body.uploadId, { manifest: manifest() })).status).toBe(403);
      }
    });
  });
});
