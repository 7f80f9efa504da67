import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiTokens, auditLog, siteKeys } from '../../db/schema.ts';
import { call, openTestCloud, siteKeyPair, type TestCloud } from '../../test-fixtures.ts';

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await openTestCloud();
  const token = cloud.adminToken;
  await call(cloud, 'POST', '/v1/regions', { token, json: { id: 'north', name: 'North' } });
  await call(cloud, 'POST', '/v1/sites', { token, json: { id: 'site-a', regionId: 'north', name: 'A' } });
});
afterEach(() => cloud.close());

const issue = async (json: unknown = {}) =>
  (await call(cloud, 'POST', '/v1/sites/site-a/enrollment-tokens', { token: cloud.adminToken, json }))
    .body as {
    token: string;
    expiresAt: string;
  };
const enroll = (token: string, publicKey = siteKeyPair().publicKeyRaw) =>
  call(cloud, 'POST', '/v1/enroll', { json: { token, publicKey, agentVersion: '0.1.0' } });

describe('enrollment', () => {
  it('issues a one-time token that expires in 24 hours by default', async () => {
    const t = await issue();
    expect(t.token).toMatch(/^cairn_enroll_/);
    expect(t.expiresAt).toBe('2026-11-28T10:00:00.000Z');
  });

  it('enrolls once; the same token a second time → 401 enrollment-token-used', async () => {
    const { token } = await issue();
    const first = await enroll(token);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ siteId: 'site-a', regionId: 'north' });
    const again = await enroll(token);
    expect({ status: again.status, code: again.body.error.code }).toEqual({
      status: 401,
      code: 'enrollment-token-used',
    });
    expect(await cloud.deps.db.select().from(siteKeys)).toHaveLength(1);
  });

  it('two agents racing with one token: exactly one enrolls', async () => {
    const { token } = await issue();
    const results = await Promise.all([enroll(token), enroll(token), enroll(token)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401]);
    expect(await cloud.deps.db.select().from(siteKeys)).toHaveLength(1);
    const [key] = await cloud.deps.db.select().from(siteKeys);
    const enrolled = (await cloud.deps.db.select().from(auditLog)).filter(
      (r) => r.action === 'site.enrolled',
    );
    expect(enrolled.map((r) => JSON.parse(r.detail).keyId)).toEqual([key?.keyId]);
  });

  it('an expired token → 401 enrollment-token-expired; an unknown one → 401 enrollment-token-invalid', async () => {
    const { token } = await issue({ ttlHours: 1 });
    cloud.deps.clock.advance(3_600_000);
    const expired = await enroll(token);
    expect({ status: expired.status, code: expired.body.error.code }).toEqual({
      status: 401,
      code: 'enrollment-token-expired',
    });
    const unknown = await enroll('cairn_enroll_nope');
    expect(unknown.body.error.code).toBe('enrollment-token-invalid');
  });

  it('a malformed public key → 400 invalid-public-key, and the token is not spent', async () => {
    const { token } = await issue();
    const bad = await enroll(token, Buffer.alloc(31).toString('base64'));
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({
      status: 400,
      code: 'invalid-public-key',
    });
    expect((await enroll(token)).status).toBe(201);
  });

  it('a failure after the token is claimed leaves no key behind and the token usable', async () => {
    const { token } = await issue();
    const sql = (s: string) => cloud.deps.db.$client.execute(s);
    await sql(`CREATE TRIGGER fail_site_token BEFORE INSERT ON api_tokens WHEN NEW.role = 'site'
               BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    expect((await enroll(token)).status).toBe(500);
    expect(await cloud.deps.db.select().from(siteKeys)).toHaveLength(0);
    expect((await cloud.deps.db.select().from(auditLog)).map((r) => r.action)).not.toContain('site.enrolled');
    await sql('DROP TRIGGER fail_site_token');
    expect((await enroll(token)).status).toBe(201);
    expect(await cloud.deps.db.select().from(siteKeys)).toHaveLength(1);
  });

  it('the site token it returns is scoped to that site and works at once', async () => {
    const { token } = await issue();
    const { apiToken } = (await enroll(token)).body;
    expect((await call(cloud, 'GET', '/v1/jobs', { token: apiToken })).body).toEqual({ jobs: [] });
    const rows = await cloud.deps.db.select().from(apiTokens);
    expect(rows.find((r) => r.role === 'site')).toMatchObject({ siteId: 'site-a' });
    // Only hashes are stored.
    expect(JSON.stringify(rows)).not.toContain(apiToken);
  });

  it('enrolling the site again replaces the earlier agent: its key and site token stop working', async () => {
    const first = (await enroll((await issue()).token)).body;
    const second = (await enroll((await issue()).token)).body;
    expect((await call(cloud, 'GET', '/v1/jobs', { token: first.apiToken })).status).toBe(401);
    expect((await call(cloud, 'GET', '/v1/jobs', { token: second.apiToken })).status).toBe(200);
    const keys = await cloud.deps.db.select().from(siteKeys);
    expect(keys.filter((k) => k.revokedAt === null).map((k) => k.keyId)).toEqual([second.keyId]);
  });

  it('two agents enrolling one site at once: the audit names every key that was superseded', async () => {
    const first = (await enroll((await issue()).token)).body;
    const [a, b] = [(await issue()).token, (await issue()).token];
    const results = await Promise.all([enroll(a), enroll(b)]);
    expect(results.map((r) => r.status)).toEqual([201, 201]);
    const keys = await cloud.deps.db.select().from(siteKeys);
    expect(keys.filter((k) => k.revokedAt === null)).toHaveLength(1);
    const named = (await cloud.deps.db.select().from(auditLog))
      .filter((r) => r.action === 'site.enrolled')
      .flatMap((r) => JSON.parse(r.detail).supersededKeyIds as string[]);
    // Each revocation recorded once: the first agent's key, then whichever racer's key lost.
    expect(named.sort()).toEqual(
      keys
        .filter((k) => k.revokedAt !== null)
        .map((k) => k.keyId)
        .sort(),
    );
    expect(named).toContain(first.keyId);
  });

  it('tokens for unknown sites → 404 site-not-found', async () => {
    const r = await call(cloud, 'POST', '/v1/sites/nowhere/enrollment-tokens', {
      token: cloud.adminToken,
      json: {},
    });
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 404, code: 'site-not-found' });
  });
});
