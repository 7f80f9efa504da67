import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, expect } from 'vitest';
import { jobs, queueMessages, reportReceipts, reports } from '../../functions/db/schema.ts';
import {
  call,
  type Loose,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../../functions/test-fixtures.ts';
import type { SiteReport } from '../../schemas/site-report.ts';

/**
 * A fresh cloud and seeded network per test, shared by the cloud-report hostile suites
 * (cloud-reports.test.ts, cloud-report-voids.test.ts). The bindings are live: call useReportCloud() once.
 */
export let cloud: TestCloud;
export let net: Awaited<ReturnType<typeof seedNetwork>>;
let blobsAtStart: number;
export function useReportCloud(): void {
  beforeEach(async () => {
    cloud = await openTestCloud();
    net = await seedNetwork(cloud);
    blobsAtStart = countBlobs();
  });
  afterEach(() => cloud.close());
}

export const acmeJob = () => net.jobFor(net.acmeModel.modelId, 'site-a');
export const good = (opts: Parameters<typeof siteReport>[1] = {}) => siteReport(net.acmeIds('site-a'), opts);
export const send = (report: SiteReport, signer = net.siteA) =>
  call(cloud, 'POST', '/v1/reports', {
    token: signer.token,
    json: signEnvelope(signer, report, { timestamp: cloud.deps.clock.now() }),
  });
export const comparison = async (token = cloud.adminToken) => {
  const r = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.models.find((m: Loose) => m.vendor === 'acme');
};

function countBlobs(): number {
  const blobs = join(cloud.dir, 'blobs');
  return existsSync(blobs) ? readdirSync(blobs, { recursive: true }).length : 0;
}

/** What a refused report must not leave behind: a report row, a receipt, a queued message, a blob. */
export async function leftovers() {
  const db = cloud.deps.db;
  const [job] = await db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, acmeJob()));
  return {
    reports: (await db.select().from(reports)).length,
    receipts: (await db.select().from(reportReceipts)).length,
    queued: (await db.select().from(queueMessages)).length,
    newBlobs: countBlobs() - blobsAtStart,
    job: job?.status,
  };
}
