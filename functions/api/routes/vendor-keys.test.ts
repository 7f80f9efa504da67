import { afterEach, beforeEach, expect, it } from 'vitest';
import { auditLog } from '../../db/schema.ts';
import { call, openTestCloud, siteKeyPair, type TestCloud } from '../../test-fixtures.ts';

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await openTestCloud();
});
afterEach(() => cloud.close());

it('two revocations of one vendor key at once: one entry, and both answers say it is revoked', async () => {
  const token = cloud.adminToken;
  await call(cloud, 'POST', '/v1/vendors', { token, json: { id: 'acme', name: 'Acme' } });
  const { keyId } = (
    await call(cloud, 'POST', '/v1/vendors/acme/keys', {
      token,
      json: { publicKey: siteKeyPair().publicKeyRaw },
    })
  ).body;
  const answers = await Promise.all(
    [1, 2].map(() => call(cloud, 'POST', `/v1/vendors/acme/keys/${keyId}/revoke`, { token })),
  );
  expect(answers.map((a) => a.status)).toEqual([200, 200]);
  expect(answers.map((a) => a.body.revokedAt)).toEqual([expect.any(String), expect.any(String)]);
  const entries = (await cloud.deps.db.select().from(auditLog)).filter(
    (r) => r.action === 'vendor-key.revoked',
  );
  expect(entries).toHaveLength(1);
});
