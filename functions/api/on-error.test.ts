import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, openTestCloud, type TestCloud } from '../test-fixtures.ts';

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await openTestCloud();
});
afterEach(() => cloud.close());

describe('an unexpected failure', () => {
  it('answers a bare 500 and logs the error class and driver code, never its message', async () => {
    await cloud.deps.db.$client.execute('DROP TABLE regions');
    const res = await call(cloud, 'GET', '/v1/regions', { token: cloud.adminToken });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: { code: 'internal-error', message: 'The server failed; the error was logged.' },
    });
    const entry = cloud.deps.log.entries.find((e) => e.status === 500);
    expect(entry?.code).toMatch(/^internal-error:[A-Za-z]+:SQLITE_[A-Z_]+$/);
    expect(JSON.stringify(cloud.deps.log.entries)).not.toContain('no such table');
    // The service keeps serving.
    expect((await call(cloud, 'GET', '/v1/health')).status).toBe(200);
  });
});
