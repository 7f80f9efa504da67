import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsBlobStore } from '../../infra/blob-store-fs.ts';
import {
  call,
  fakeOnnx,
  type Loose,
  modelUploadForm,
  signEnvelope,
  siteReport,
  testManifest,
} from '../test-fixtures.ts';
import { admin, cloud, net, refused, useHostileCloud } from './hostile.test-util.ts';

/**
 * Hostile input in paths, SQL and content types (the rest: hostile.test.ts), one test each: the request is
 * refused with a clear 4xx and a code, nothing is stored, and the service answers the next request as before.
 */

useHostileCloud();
describe('path traversal', () => {
  const traversals = [
    '..',
    '%2e%2e',
    '..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f%2e%2e%2fcairn.db',
    '%2Fetc%2Fpasswd',
    '..%5c..%5cwin.ini',
  ];

  for (const t of traversals) {
    it(`in route ids: ${t} → 400/404 on every route with an id`, async () => {
      const paths: [string, string, string][] = [
        ['GET', `/v1/models/${t}`, admin()],
        ['GET', `/v1/models/${t}/onnx`, admin()],
        ['GET', `/v1/campaigns/${t}`, admin()],
        ['GET', `/v1/campaigns/${t}/comparison`, admin()],
        ['GET', `/v1/reports/${t}`, admin()],
        ['POST', `/v1/sites/${t}/enrollment-tokens`, admin()],
        ['GET', `/v1/sites/${t}/keys`, admin()],
        ['POST', `/v1/sites/site-a/keys/${t}/revoke`, admin()],
        ['POST', `/v1/sites/${t}/keys/rotate`, net.siteA.token],
        ['POST', `/v1/tokens/${t}/revoke`, admin()],
        ['GET', `/v1/vendors/${t}/keys`, admin()],
        ['POST', `/v1/vendors/acme/keys/${t}/revoke`, admin()],
      ];
      for (const [method, path, token] of paths)
        await refused(
          () => call(cloud, method, path, { token }),
          [400, 404],
          /^(invalid-request|.*-not-found)$/,
        );
    });
  }

  it('in a multipart file name: ignored, the blob key is content-addressed', async () => {
    const form = modelUploadForm(testManifest({ version: '6.0.0' }), fakeOnnx('traversal'));
    form.set(
      'onnx',
      new Blob([fakeOnnx('traversal') as Uint8Array<ArrayBuffer>]),
      '../../../../tmp/evil.onnx',
    );
    const r = await call(cloud, 'POST', '/v1/models', { token: net.acmeToken, body: form });
    expect(r.status).toBe(201);
    const files = readdirSync(join(cloud.dir, 'blobs'), { recursive: true }).map(String);
    // (uploads/ is where a multipart upload is staged while it streams in; nothing stays there.)
    expect(
      files.every((f) => f === 'models' || f === 'uploads' || /^models\/[0-9a-f]{64}\.onnx$/.test(f)),
    ).toBe(true);
    expect(existsSync(join(cloud.dir, '..', 'evil.onnx'))).toBe(false);
  });

  it('in manifest names and versions → 400 invalid-manifest', async () => {
    for (const over of [
      { name: '../../etc' },
      { vendor: '/etc/passwd' },
      { name: '%2e%2e' },
      { version: '1.0.0/../..' },
    ])
      await refused(
        () =>
          call(cloud, 'POST', '/v1/models', {
            token: admin(),
            body: modelUploadForm({ ...testManifest(), ...over }, fakeOnnx('x')),
          }),
        [400, 403],
        /invalid-manifest|forbidden/,
      );
  });

  it('in ids people choose (region, site, vendor) → 400 invalid-request', async () => {
    for (const id of ['../x', '..', '/etc', 'a/b', '%2e%2e', 'a\\b'])
      await refused(
        () => call(cloud, 'POST', '/v1/regions', { token: admin(), json: { id, name: 'x' } }),
        400,
        'invalid-request',
      );
  });

  it('in blob keys → the store refuses before touching the disk', async () => {
    const store = createFsBlobStore(join(cloud.dir, 'blobs'));
    for (const key of ['../x', '/etc/passwd', 'models/../../x', '%2e%2e/x', 'models\\..\\x', 'a//b', ''])
      await expect(store.put(key, new Uint8Array([1]))).rejects.toThrow('invalid blob key');
  });
});

describe('SQL metacharacters', () => {
  const NASTY = [
    `'; DROP TABLE sites; --`,
    `" OR "1"="1`,
    `-- comment`,
    `Robert'); DELETE FROM api_tokens;--`,
  ];

  it('in free-text fields are stored verbatim and harm nothing', async () => {
    for (const [i, text] of NASTY.entries()) {
      expect(
        (await call(cloud, 'POST', '/v1/regions', { token: admin(), json: { id: `r${i}`, name: text } }))
          .status,
      ).toBe(201);
      expect(
        (
          await call(cloud, 'POST', '/v1/sites', {
            token: admin(),
            json: { id: `s${i}`, regionId: `r${i}`, name: text },
          })
        ).status,
      ).toBe(201);
      expect(
        (await call(cloud, 'POST', '/v1/vendors', { token: admin(), json: { id: `v${i}`, name: text } }))
          .status,
      ).toBe(201);
      expect(
        (
          await call(cloud, 'POST', '/v1/tokens', {
            token: admin(),
            json: { role: 'coordinator', label: text },
          })
        ).status,
      ).toBe(201);
      const campaign = await call(cloud, 'POST', '/v1/campaigns', {
        token: admin(),
        json: { name: text, modelIds: [net.acmeModel.modelId], siteIds: [`s${i}`] },
      });
      expect(campaign.status).toBe(201);
      expect(
        (await call(cloud, 'GET', `/v1/campaigns/${campaign.body.campaignId}`, { token: admin() })).body.name,
      ).toBe(text);
      const model = await call(cloud, 'POST', '/v1/models', {
        token: net.acmeToken,
        body: modelUploadForm(testManifest({ version: `1.${i}.9`, description: text }), fakeOnnx(text)),
      });
      expect(model.status).toBe(201);
      expect(model.body.manifest.description).toBe(text);
    }
    const sites = await call(cloud, 'GET', '/v1/sites', { token: admin() });
    expect(sites.body.sites.map((s: Loose) => s.name)).toEqual(expect.arrayContaining(NASTY));
    // Every table is still there, and every token still works.
    expect((await call(cloud, 'GET', '/v1/models', { token: net.acmeToken })).status).toBe(200);
    expect((await call(cloud, 'GET', '/v1/jobs', { token: net.siteA.token })).status).toBe(200);
  });

  it('in ids and tokens → refused (400/401), nothing stored', async () => {
    for (const text of NASTY) {
      await refused(
        () => call(cloud, 'POST', '/v1/regions', { token: admin(), json: { id: text, name: 'x' } }),
        400,
        'invalid-request',
      );
      await refused(
        () => call(cloud, 'GET', '/v1/sites', { headers: { authorization: `Bearer ${text}` } }),
        401,
      );
      await refused(
        () => call(cloud, 'GET', `/v1/campaigns/${encodeURIComponent(text)}`, { token: admin() }),
        [400, 404],
      );
      await refused(
        () =>
          call(cloud, 'POST', '/v1/enroll', {
            json: { token: text, publicKey: Buffer.alloc(32).toString('base64'), agentVersion: '0.1.0' },
          }),
        [400, 401],
      );
    }
  });
});

describe('wrong content types', () => {
  it('a JSON route sent text, form or XML → 415 unsupported-media-type', async () => {
    const body = JSON.stringify({ id: 'west', name: 'West' });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'application/jsonx',
    ]) {
      const r = await refused(
        () => call(cloud, 'POST', '/v1/regions', { token: admin(), body, headers: { 'content-type': type } }),
        415,
        'unsupported-media-type',
      );
      expect(r.body.error.message).toMatch(/application\/json/);
    }
  });

  it('an envelope sent as a form → 415', async () => {
    const form = new FormData();
    form.set('envelope', JSON.stringify(signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')))));
    await refused(
      () => call(cloud, 'POST', '/v1/reports', { token: net.siteA.token, body: form }),
      415,
      'unsupported-media-type',
    );
  });

  it('a model upload that is not multipart → 415', async () => {
    await refused(
      () =>
        call(cloud, 'POST', '/v1/models', { token: net.acmeToken, json: testManifest({ version: '5.5.5' }) }),
      415,
      'unsupported-media-type',
    );
  });

  it('a request without a body and without a content type is still fine', async () => {
    const r = await call(cloud, 'POST', '/v1/sites/site-b/enrollment-tokens', { token: admin() });
    expect(r.status).toBe(201);
  });
});
