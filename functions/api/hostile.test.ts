import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import * as schema from '../db/schema.ts';
import { call, fakeOnnx, modelUploadForm, signEnvelope, siteReport, testManifest } from '../test-fixtures.ts';
import { admin, cloud, net, refused, useHostileCloud } from './hostile.test-util.ts';

/**
 * Hostile input, one test each: the request is refused with a clear 4xx and a code, nothing is stored, and
 * the service answers the next request as before.
 */

useHostileCloud();

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
