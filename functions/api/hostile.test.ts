import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBlobStore } from '../../infra/blob-store-fs.ts';
import * as schema from '../db/schema.ts';
import {
  call,
  fakeOnnx,
  type Loose,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
  testManifest,
} from '../test-fixtures.ts';

/**
 * Hostile input, one test each: the request is refused with a clear 4xx and a code, nothing is stored, and
 * the service answers the next request as before.
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud({ limits: { jsonBytes: 64 * 1024, modelUploadBytes: 256 * 1024 } });
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const TABLES = {
  regions: schema.regions,
  sites: schema.sites,
  vendors: schema.vendors,
  apiTokens: schema.apiTokens,
  enrollmentTokens: schema.enrollmentTokens,
  siteKeys: schema.siteKeys,
  vendorKeys: schema.vendorKeys,
  models: schema.models,
  campaigns: schema.campaigns,
  jobs: schema.jobs,
  nonces: schema.nonces,
  reportReceipts: schema.reportReceipts,
  reports: schema.reports,
  queueMessages: schema.queueMessages,
};

/** Row counts of every domain table, and the blob files (the audit log may grow: refusals are recorded). */
async function snapshot() {
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(TABLES))
    counts[name] = (await cloud.deps.db.select().from(table)).length;
  const blobs = join(cloud.dir, 'blobs');
  const files = existsSync(blobs) ? readdirSync(blobs, { recursive: true }).map(String).sort() : [];
  return { counts, files, dirEntries: readdirSync(cloud.dir).sort() };
}

/** Runs the attack, checks the refusal, that nothing changed, and that the service still serves. */
async function refused(
  attack: () => Promise<{ status: number; body: Loose }>,
  status: number | number[],
  code?: string | RegExp,
) {
  const before = await snapshot();
  const r = await attack();
  expect([status].flat()).toContain(r.status);
  expect(r.body?.error?.message).toEqual(expect.any(String));
  if (code) expect(r.body.error.code).toMatch(code);
  expect(await snapshot()).toEqual(before);
  expect((await call(cloud, 'GET', '/v1/health')).status).toBe(200);
  expect((await call(cloud, 'GET', '/v1/sites', { token: cloud.adminToken })).status).toBe(200);
  return r;
}

const admin = () => cloud.adminToken;

describe('forged and replayed envelopes', () => {
  it('a forged signature → 401 bad-signature', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    const forged = { ...env, signature: Buffer.alloc(64, 3).toString('base64') };
    await refused(
      () => call(cloud, 'POST', '/v1/reports', { token: net.siteA.token, json: forged }),
      401,
      'bad-signature',
    );
  });

  it('a payload swapped under a valid signature → 401 bad-signature', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    const other = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'), { tp: 20 }));
    await refused(
      () =>
        call(cloud, 'POST', '/v1/reports', {
          token: net.siteA.token,
          json: { ...env, payload: other.payload },
        }),
      401,
      'bad-signature',
    );
  });

  it('a replayed envelope → 409 replayed-nonce (the first copy is stored once)', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    expect((await call(cloud, 'POST', '/v1/reports', { token: net.siteA.token, json: env })).status).toBe(
      202,
    );
    await refused(
      () => call(cloud, 'POST', '/v1/reports', { token: net.siteA.token, json: env }),
      409,
      'replayed-nonce',
    );
  });
});

describe('tokens and keys', () => {
  it("another organisation's token → 404 (functions/api/cross-org.test.ts walks every route)", async () => {
    await refused(
      () => call(cloud, 'GET', `/v1/models/${net.acmeModel.modelId}/onnx`, { token: net.globexToken }),
      404,
      'model-not-found',
    );
  });

  it('an expired token → 401 expired-token', async () => {
    const short = await call(cloud, 'POST', '/v1/tokens', {
      token: admin(),
      json: { role: 'vendor', vendorId: 'acme', label: 'short', ttlHours: 1 },
    });
    cloud.deps.clock.advance(3_600_001);
    await refused(
      () =>
        call(cloud, 'POST', '/v1/models', {
          token: short.body.token,
          body: modelUploadForm(testManifest({ version: '8.0.0' }), fakeOnnx('late')),
        }),
      401,
      'expired-token',
    );
  });

  it('a revoked token → 401 revoked-token', async () => {
    const [row] = await cloud.deps.db
      .select()
      .from(schema.apiTokens)
      .where(eq(schema.apiTokens.role, 'vendor'));
    expect((await call(cloud, 'POST', `/v1/tokens/${row!.id}/revoke`, { token: admin() })).status).toBe(200);
    const token = row!.vendorId === 'acme' ? net.acmeToken : net.globexToken;
    await refused(
      () =>
        call(cloud, 'POST', '/v1/models', {
          token,
          body: modelUploadForm(
            testManifest({ vendor: row!.vendorId!, version: '8.0.1' }),
            fakeOnnx('revoked'),
          ),
        }),
      401,
      'revoked-token',
    );
  });

  it('an expired enrollment token → 401; a used one → 401', async () => {
    const { body } = await call(cloud, 'POST', '/v1/sites/site-b/enrollment-tokens', {
      token: admin(),
      json: {},
    });
    cloud.deps.clock.advance(24 * 3_600_000 + 1);
    const publicKey = Buffer.alloc(32, 5).toString('base64');
    await refused(
      () =>
        call(cloud, 'POST', '/v1/enroll', { json: { token: body.token, publicKey, agentVersion: '0.1.0' } }),
      401,
      'enrollment-token-expired',
    );
  });

  it('a revoked site key → 401 revoked-key', async () => {
    await call(cloud, 'POST', `/v1/sites/site-a/keys/${net.siteA.keyId}/revoke`, { token: admin() });
    await refused(
      () =>
        call(cloud, 'POST', '/v1/reports', {
          token: net.siteA.token,
          json: signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))),
        }),
      401,
      'revoked-key',
    );
  });
});

describe('oversized bodies', () => {
  it('a JSON body over the limit → 413 body-too-large', async () => {
    await refused(
      () =>
        call(cloud, 'POST', '/v1/regions', {
          token: admin(),
          json: { id: 'big', name: 'x'.repeat(70 * 1024) },
        }),
      413,
      'body-too-large',
    );
  });

  it('an envelope over the limit → 413 body-too-large', async () => {
    const env = signEnvelope(net.siteA, { raw: 'x'.repeat(80 * 1024) });
    await refused(
      () => call(cloud, 'POST', '/v1/reports', { token: net.siteA.token, json: env }),
      413,
      'body-too-large',
    );
  });

  it('a model upload over the limit → 413 body-too-large', async () => {
    await refused(
      () =>
        call(cloud, 'POST', '/v1/models', {
          token: net.acmeToken,
          body: modelUploadForm(testManifest({ version: '9.0.0' }), new Uint8Array(300 * 1024)),
        }),
      413,
      'body-too-large',
    );
  });
});

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
