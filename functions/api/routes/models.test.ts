import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { models } from '../../db/schema.ts';
import {
  call,
  fakeOnnx,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  type TestCloud,
  testManifest,
} from '../../test-fixtures.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud({ limits: { modelUploadBytes: 64 * 1024 } });
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const upload = (token: string, manifest: unknown, onnx = fakeOnnx('v2')) =>
  call(cloud, 'POST', '/v1/models', { token, body: modelUploadForm(manifest, onnx) });
const countModels = async () => (await cloud.deps.db.select().from(models)).length;

describe('model submission', () => {
  it('pins the computed sha256; a manifest sha256 that matches is accepted', async () => {
    const onnx = fakeOnnx('v2');
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    const r = await upload(net.acmeToken, testManifest({ version: '2.0.0', sha256 }), onnx);
    expect(r.status).toBe(201);
    expect(r.body.manifest).toMatchObject({
      sha256,
      version: '2.0.0',
      input: { normalize: { mean: 0, std: 1 } },
    });
  });

  it('a manifest sha256 that differs from the bytes → 400 sha256-mismatch, nothing stored', async () => {
    const before = await countModels();
    const r = await upload(net.acmeToken, testManifest({ version: '2.0.0', sha256: 'a'.repeat(64) }));
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 400, code: 'sha256-mismatch' });
    expect(await countModels()).toBe(before);
  });

  it('the same vendor, name and version again → 409 model-exists', async () => {
    const r = await upload(net.acmeToken, testManifest());
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 409, code: 'model-exists' });
  });

  it("a vendor submitting another vendor's model → 403", async () => {
    const r = await upload(net.acmeToken, testManifest({ vendor: 'globex', version: '9.0.0' }));
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 403, code: 'forbidden' });
  });

  it('an invalid manifest → 400 invalid-manifest; a missing file → 400 invalid-request', async () => {
    const bad = await upload(net.acmeToken, { ...testManifest({ version: '2.0.0' }), threshold: 'high' });
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({
      status: 400,
      code: 'invalid-manifest',
    });
    const form = new FormData();
    form.set('manifest', JSON.stringify(testManifest({ version: '2.0.0' })));
    const missing = await call(cloud, 'POST', '/v1/models', { token: net.acmeToken, body: form });
    expect({ status: missing.status, code: missing.body.error.code }).toEqual({
      status: 400,
      code: 'invalid-request',
    });
  });

  it('an upload over the configured model limit → 413 body-too-large', async () => {
    const r = await upload(net.acmeToken, testManifest({ version: '3.0.0' }), new Uint8Array(65 * 1024));
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 413, code: 'body-too-large' });
  });

  it('coordinators and sites cannot submit (403)', async () => {
    expect((await upload(net.northToken, testManifest({ version: '4.0.0' }))).status).toBe(403);
    expect((await upload(net.siteA.token, testManifest({ version: '4.0.0' }))).status).toBe(403);
  });
});

describe('model visibility', () => {
  it("vendor B cannot see vendor A's model: 404 for the model and its bytes, absent from the list", async () => {
    const id = net.acmeModel.modelId;
    for (const path of [`/v1/models/${id}`, `/v1/models/${id}/onnx`]) {
      const r = await call(cloud, 'GET', path, { token: net.globexToken });
      expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 404, code: 'model-not-found' });
    }
    const list = await call(cloud, 'GET', '/v1/models', { token: net.globexToken });
    expect(list.body.models.map((m: { vendor: string }) => m.vendor)).toEqual(['globex']);
    expect((await call(cloud, 'GET', `/v1/models/${id}`, { token: net.acmeToken })).status).toBe(200);
  });

  it('a site sees the models of its jobs only', async () => {
    const orphan = await upload(net.acmeToken, testManifest({ version: '5.0.0' }));
    const own = await call(cloud, 'GET', `/v1/models/${net.acmeModel.modelId}/onnx`, {
      token: net.siteA.token,
    });
    expect(own.status).toBe(200);
    const other = await call(cloud, 'GET', `/v1/models/${orphan.body.modelId}/onnx`, {
      token: net.siteA.token,
    });
    expect(other.status).toBe(404);
    const list = await call(cloud, 'GET', '/v1/models', { token: net.siteA.token });
    expect(list.body.models).toHaveLength(2);
  });

  it('admins and coordinators see every model', async () => {
    expect((await call(cloud, 'GET', '/v1/models', { token: cloud.adminToken })).body.models).toHaveLength(2);
    expect((await call(cloud, 'GET', '/v1/models', { token: net.northToken })).body.models).toHaveLength(2);
  });
});
