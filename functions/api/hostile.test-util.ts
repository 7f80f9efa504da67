import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import * as schema from '../db/schema.ts';
import { call, type Loose, openTestCloud, seedNetwork, type TestCloud } from '../test-fixtures.ts';

/** The hostile-input suites' cloud (small body limits) and their check that a refusal changed nothing. */

/** The suite's cloud and network, fresh for each test once `useHostileCloud()` has run in the test file. */
export let cloud: TestCloud;
export let net: Awaited<ReturnType<typeof seedNetwork>>;

export function useHostileCloud(): void {
  beforeEach(async () => {
    cloud = await openTestCloud({ limits: { jsonBytes: 64 * 1024, modelUploadBytes: 256 * 1024 } });
    net = await seedNetwork(cloud);
  });
  afterEach(() => cloud.close());
}

export const admin = () => cloud.adminToken;

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
export async function refused(
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
