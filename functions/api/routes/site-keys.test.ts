import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudRefusal } from '../../../client/cloud-api.ts';
import { exportPkcs8Der, importPkcs8Der, signEd25519 } from '../../../crypto/ed25519.ts';
import { rotateKey } from '../../../edge-agent/key-rotation.ts';
import { keyRotationSigningInput } from '../../../schemas/key-rotation.ts';
import { auditLog } from '../../db/schema.ts';
import {
  call,
  type Loose,
  openTestCloud,
  refusal,
  seedNetwork,
  signEnvelope,
  siteKeyPair,
  siteReport,
  T0,
  type TestCloud,
} from '../../test-fixtures.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

/** The agent's HTTP client, answered by the app in-process. */
function apiAs(token: string) {
  return {
    async json(method: string, path: string, body?: { json: unknown }) {
      const r = await call(cloud, method, path, { token, ...(body ? { json: body.json } : {}) });
      if (r.status >= 400) throw new CloudRefusal(r.status, r.body.error.code, r.body.error.message);
      return r.body;
    },
  } as Parameters<typeof rotateKey>[0];
}

const pkcs8 = exportPkcs8Der;

function rotationBody(
  over: { oldPrivate?: string; newKey?: ReturnType<typeof siteKeyPair>; timestamp?: Date } = {},
) {
  const fresh = over.newKey ?? siteKeyPair();
  const unsigned = {
    schema: 'cairn.key-rotation/v1' as const,
    siteId: 'site-a',
    oldKeyId: net.siteA.keyId,
    newPublicKey: fresh.publicKeyRaw,
    timestamp: (over.timestamp ?? T0).toISOString(),
    nonce: randomBytes(18).toString('base64url'),
  };
  const input = keyRotationSigningInput(unsigned);
  const signWith = (p: string) => signEd25519(input, importPkcs8Der(p));
  return {
    ...unsigned,
    oldKeySignature: signWith(over.oldPrivate ?? pkcs8(net.siteA.privateKey)),
    newKeySignature: signWith(pkcs8(fresh.privateKey)),
  };
}

const rotate = (json: unknown, token = net.siteA.token, site = 'site-a') =>
  call(cloud, 'POST', `/v1/sites/${site}/keys/rotate`, { token, json });

describe('key rotation (POST /v1/sites/:id/keys/rotate)', () => {
  it('the agent client rotates: the old key is retired at once, the new one signs reports', async () => {
    const rotated = await rotateKey(
      apiAs(net.siteA.token),
      {
        siteId: 'site-a',
        keyId: net.siteA.keyId,
        privateKeyPkcs8: pkcs8(net.siteA.privateKey),
      },
      T0,
    );
    expect(rotated.retiredKeyId).toBe(net.siteA.keyId);

    const old = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))),
    });
    expect(refusal(old)).toEqual({ status: 401, code: 'revoked-key' });
    const signer = {
      siteId: 'site-a',
      keyId: rotated.keyId,
      privateKey: importPkcs8Der(rotated.privateKeyPkcs8),
    };
    const fresh = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(signer, siteReport(net.acmeIds('site-a'))),
    });
    expect(fresh.status).toBe(202);

    const keys = await call(cloud, 'GET', '/v1/sites/site-a/keys', { token: net.northToken });
    expect(keys.body.keys.map((k: Loose) => [k.keyId, k.revokedReason])).toEqual(
      expect.arrayContaining([
        [net.siteA.keyId, 'rotated'],
        [rotated.keyId, null],
      ]),
    );
    const audit = await cloud.deps.db.select().from(auditLog);
    expect(audit.map((r) => r.action)).toContain('site-key.rotated');
  });

  it('refuses a request not signed by the old key, or not by the new one', async () => {
    const intruder = siteKeyPair();
    expect(refusal(await rotate(rotationBody({ oldPrivate: pkcs8(intruder.privateKey) })))).toEqual({
      status: 401,
      code: 'bad-signature',
    });
    const body = rotationBody();
    expect(refusal(await rotate({ ...body, newKeySignature: body.oldKeySignature }))).toEqual({
      status: 401,
      code: 'bad-new-key-signature',
    });
    // Nothing changed: the old key still signs.
    const r = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))),
    });
    expect(r.status).toBe(202);
  });

  it('refuses stale and replayed requests, other sites and other roles', async () => {
    expect(refusal(await rotate(rotationBody({ timestamp: new Date(T0.getTime() - 10 * 60_000) })))).toEqual({
      status: 400,
      code: 'stale-timestamp',
    });
    const body = rotationBody();
    expect((await rotate(body)).status).toBe(201);
    expect(refusal(await rotate(body))).toEqual({ status: 401, code: 'revoked-key' });
    expect(refusal(await rotate(rotationBody(), net.siteC.token))).toEqual({
      status: 404,
      code: 'site-not-found',
    });
    expect(refusal(await rotate(rotationBody(), cloud.adminToken))).toEqual({
      status: 403,
      code: 'forbidden',
    });
  });

  it('of two rotations signed by the same old key, exactly one wins', async () => {
    const results = await Promise.all([rotate(rotationBody()), rotate(rotationBody())]);
    expect(results.map((r) => r.status).sort()).toEqual([201, expect.any(Number)]);
    const keys = await call(cloud, 'GET', '/v1/sites/site-a/keys', { token: cloud.adminToken });
    expect(keys.body.keys.filter((k: Loose) => k.revokedAt === null)).toHaveLength(1);
  });
});

describe('key revocation (POST /v1/sites/:id/keys/:keyId/revoke)', () => {
  it("a coordinator of the site's region revokes; the key's reports are refused from then on", async () => {
    const r = await call(cloud, 'POST', `/v1/sites/site-a/keys/${net.siteA.keyId}/revoke`, {
      token: net.northToken,
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ siteId: 'site-a', keyId: net.siteA.keyId, revokedAt: T0.toISOString() });
    const sent = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))),
    });
    expect(refusal(sent)).toEqual({ status: 401, code: 'revoked-key' });
    // A revoked key cannot rotate itself back into service.
    expect(refusal(await rotate(rotationBody()))).toEqual({ status: 401, code: 'revoked-key' });
  });

  it('vendors and sites cannot revoke; unknown keys → 404', async () => {
    const path = `/v1/sites/site-a/keys/${net.siteA.keyId}/revoke`;
    expect((await call(cloud, 'POST', path, { token: net.acmeToken })).status).toBe(403);
    expect((await call(cloud, 'POST', path, { token: net.siteA.token })).status).toBe(403);
    expect(
      refusal(
        await call(cloud, 'POST', '/v1/sites/site-a/keys/key_nope/revoke', { token: cloud.adminToken }),
      ),
    ).toEqual({ status: 404, code: 'key-not-found' });
    expect(
      refusal(
        await call(cloud, 'POST', `/v1/sites/site-b/keys/${net.siteA.keyId}/revoke`, {
          token: cloud.adminToken,
        }),
      ),
    ).toEqual({ status: 404, code: 'key-not-found' });
  });
});
