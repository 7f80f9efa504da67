import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { reportReceipts, reportRefusals, reports } from '../../functions/db/schema.ts';
import { REPORTS_TOPIC } from '../../functions/deps.ts';
import { drainReportBatch } from '../../functions/ingest/embedded.ts';
import { handleSqsBatch } from '../../functions/ingest/lambda.ts';
import { type Loose, signEnvelope, siteReport } from '../../functions/test-fixtures.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { cloud, comparison, good, leftovers, net, send, useReportCloud } from './cloud-reports.test-util.ts';

/**
 * The cloud checks every report itself (functions/reports/check-report.ts), whatever the agent did: on
 * submission (422 with the rule's code), again at ingest, and again when the comparison reads a stored row.
 * The test campaign's minimum cell size is 3; its histogram has 20 equal bins on [0, 1].
 */

useReportCloud();

const prop = (x: number, n: number) => ({
  ...(wilson(x, n) as { estimate: number; ciLow: number; ciHigh: number }),
  numerator: x,
  denominator: n,
  method: 'wilson' as const,
});

const INCONSISTENT: [string, (r: SiteReport) => void, string][] = [
  ['tp + fn ≠ positives', (r) => Object.assign(r.confusion, { tp: 17 }), 'inconsistent-counts'],
  ['fp + tn ≠ negatives', (r) => Object.assign(r.confusion, { fp: 4 }), 'inconsistent-counts'],
  ['histogram total ≠ class total', (r) => r.histogram.negatives?.splice(4, 1, 19), 'inconsistent-counts'],
  [
    'numerator > denominator',
    (r) => Object.assign(r.sensitivity, { numerator: 30, denominator: 20 }),
    'inconsistent-counts',
  ],
  [
    "a proportion's counts not its cells",
    (r) => Object.assign(r, { sensitivity: prop(12, 20) }),
    'inconsistent-counts',
  ],
  ['cases ≠ positives + negatives', (r) => Object.assign(r, { cases: 41 }), 'inconsistent-counts'],
  [
    'sensitivity.estimate ≠ numerator/denominator',
    (r) => Object.assign(r.sensitivity, { estimate: 0.99 }),
    'inconsistent-estimate',
  ],
  [
    'a CI that is not the Wilson interval',
    (r) => Object.assign(r.specificity, { ciLow: 0.01 }),
    'inconsistent-estimate',
  ],
  ['an AUC outside its CI', (r) => Object.assign(r.auc, { estimate: 0.5 }), 'inconsistent-estimate'],
  ['an absurd se (1e308)', (r) => Object.assign(r.auc, { se: 1e308 }), 'absurd-value'],
  [
    "a histogram on edges other than the campaign's",
    (r) => Object.assign(r.histogram, { edges: r.histogram.edges.map((e, i) => (i === 7 ? 0.3333 : e)) }),
    'foreign-histogram-edges',
  ],
];

describe('the API refuses an internally inconsistent report: 422, the reason named, stored nowhere', () => {
  for (const [attack, mutate, code] of INCONSISTENT)
    it(`${attack} → 422 ${code}`, async () => {
      const r = good();
      mutate(r);
      const res = await send(r);
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 422, code });
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(await leftovers()).toEqual({ reports: 0, receipts: 0, queued: 0, newBlobs: 0, job: 'pending' });
      // The job is still open: the corrected report goes through.
      expect((await send(good())).status).toBe(202);
    });
});

describe('the API refuses an under-suppressed report', () => {
  it('a confusion cell in 1..k−1 (fn = 2 at k = 3) → 422 under-suppressed', async () => {
    const r = good({ tp: 18 });
    const res = await send(r);
    expect(res.body.error.code).toBe('under-suppressed');
    expect(res.body.error.message).not.toMatch(/\b2\b/);
    expect((await leftovers()).reports).toBe(0);
  });

  it('a histogram bin in 1..k−1 → 422 under-suppressed', async () => {
    const r = good();
    r.histogram.positives?.splice(15, 2, 19, 1);
    expect((await send(r)).body.error.code).toBe('under-suppressed');
  });

  it("a declared minCell below the campaign's → 422 min-cell-below-campaign", async () => {
    const r = good();
    r.minCell = 1;
    expect((await send(r)).body.error.code).toBe('min-cell-below-campaign');
  });

  it('a class of 1..k−1 cases released instead of withheld → 422 under-suppressed', async () => {
    const r = good();
    // 2 positives, every one a true positive: the class total itself is a small count.
    r.positives = 2;
    r.cases = 22;
    r.confusion = { tp: 2, fn: 0, fp: 3, tn: 17 };
    r.sensitivity = prop(2, 2);
    r.ppv = prop(2, 5);
    r.npv = prop(17, 17);
    r.histogram.positives?.splice(15, 1, 2);
    expect((await send(r)).body.error.code).toBe('under-suppressed');
  });
});

/** 2 positives (withheld at k = 3), 20 negatives: what the gate sends for such a site. */
function withheldReport(): SiteReport {
  const r = good();
  const none = { estimate: null, ciLow: null, ciHigh: null, numerator: null, denominator: null };
  const withheld = { ...none, method: 'wilson' as const, reason: 'insufficient-class-size' as const };
  return {
    ...r,
    cases: null,
    positives: null,
    withheld: { reason: 'insufficient-class-size', classes: ['positives'] },
    confusion: { tp: null, fn: null, fp: 3, tn: 17 },
    sensitivity: withheld,
    ppv: withheld,
    npv: withheld,
    auc: {
      estimate: null,
      se: null,
      ciLow: null,
      ciHigh: null,
      method: 'delong',
      reason: 'insufficient-class-size',
    },
    histogram: { ...r.histogram, positives: null },
    suppressed: ['confusion.tp', 'confusion.fn', 'sensitivity', 'ppv', 'npv'],
  };
}

describe('a withheld class', () => {
  it('consistently withheld: accepted, listed as withheld, pooled nowhere', async () => {
    expect((await send(withheldReport())).status).toBe(202);
    expect((await send(siteReport(net.acmeIds('site-c')), net.siteC)).status).toBe(202);
    await drainReportBatch(cloud.deps);
    const m = await comparison();
    expect(m.sites.map((s: Loose) => [s.site, s.status, s.reason ?? null])).toEqual([
      ['site-a', 'withheld', 'insufficient-class-size'],
      ['site-c', 'pooled', null],
    ]);
    expect(m.sites[0]).toMatchObject({ cases: null, positives: null, negatives: 20 });
    expect([m.overall.auc.k, m.overall.sensitivity.k, m.overall.specificity.k]).toEqual([1, 1, 1]);
  });

  it('withheld but its AUC (conditional on the class) released → 422 inconsistent-withheld', async () => {
    const r = withheldReport();
    r.auc = { estimate: 0.9, se: 0.05, ciLow: 0.8, ciHigh: 1, method: 'delong' };
    expect((await send(r)).body.error.code).toBe('inconsistent-withheld');
  });
});

describe('ingest refuses what slipped past the API (queued before the check, or put on SQS)', () => {
  /** A message on the queue with its receipt, as the API wrote both before it checked the numbers. */
  async function enqueueUnchecked(report: SiteReport) {
    await cloud.deps.db.insert(reportReceipts).values({
      reportId: report.reportId,
      jobId: report.jobId,
      siteId: report.siteId,
      status: 'queued',
      receivedAt: cloud.deps.clock.now(),
    });
    const body = JSON.stringify({ envelope: signEnvelope(net.siteA, report) });
    await cloud.deps.queue.send(REPORTS_TOPIC, body);
    return body;
  }

  it('embedded queue: numerator > denominator → rejected inconsistent-counts, nothing stored, job free', async () => {
    const r = good();
    r.sensitivity = { ...r.sensitivity, numerator: 30, denominator: 20 };
    await enqueueUnchecked(r);
    expect(await drainReportBatch(cloud.deps)).toEqual([
      { outcome: 'rejected', code: 'inconsistent-counts' },
    ]);
    expect(await leftovers()).toEqual({ reports: 0, receipts: 0, queued: 0, newBlobs: 0, job: 'pending' });
    const [count] = await cloud.deps.db
      .select()
      .from(reportRefusals)
      .where(eq(reportRefusals.stage, 'ingest'));
    expect(count).toMatchObject({ siteId: 'site-a', code: 'inconsistent-counts', count: 1 });
  });

  it('SQS batch: se 1e308 → done with (not retried), never stored', async () => {
    const r = good();
    r.auc.se = 1e308;
    const body = await enqueueUnchecked(r);
    const res = await handleSqsBatch(cloud.deps, { Records: [{ messageId: 'm-1', body }] });
    expect(res).toEqual({ batchItemFailures: [] });
    expect((await leftovers()).reports).toBe(0);
  });

  it('SQS batch: a poisoned record between two good ones → it alone is rejected (invalid-message), both reports stored', async () => {
    const a = good();
    const c = siteReport(net.acmeIds('site-c'));
    const records = [
      { messageId: 'm-a', body: JSON.stringify({ envelope: signEnvelope(net.siteA, a) }) },
      { messageId: 'm-poison', body: '{"envelope": {"siteId": "site-a"' },
      { messageId: 'm-c', body: JSON.stringify({ envelope: signEnvelope(net.siteC, c) }) },
    ];
    expect(await handleSqsBatch(cloud.deps, { Records: records })).toEqual({ batchItemFailures: [] });
    const stored = await cloud.deps.db.select({ reportId: reports.reportId }).from(reports);
    expect(stored.map((r) => r.reportId).sort()).toEqual([a.reportId, c.reportId].sort());
    const [count] = await cloud.deps.db
      .select()
      .from(reportRefusals)
      .where(eq(reportRefusals.stage, 'ingest'));
    expect(count).toMatchObject({ code: 'invalid-message', count: 1 });
  });
});

describe('a poisoning row written straight into the database cannot break the comparison', () => {
  async function storeRaw(siteId: 'site-a' | 'site-c', report: unknown) {
    const ids = net.acmeIds(siteId);
    await cloud.deps.db.run(sql`INSERT INTO reports (report_id, job_id, site_id, campaign_id, model_id, report,
      envelope, received_at) VALUES (${randomUUID()}, ${ids.jobId}, ${siteId}, ${ids.campaignId},
      ${net.acmeModel.modelId}, ${typeof report === 'string' ? report : JSON.stringify(report)}, '{}', 0)`);
  }

  it('numerator > denominator, se = 1e308 and a row that is not JSON → 200, listed invalid, pooled nowhere', async () => {
    const big = siteReport(net.acmeIds('site-a'));
    big.auc.se = 1e308;
    const over = siteReport(net.acmeIds('site-a'));
    over.sensitivity = { ...over.sensitivity, numerator: 25, denominator: 20 };
    await storeRaw('site-a', big);
    await storeRaw('site-a', over);
    await storeRaw('site-a', 'not json {');
    await storeRaw('site-c', siteReport(net.acmeIds('site-c')));
    const m = await comparison();
    const rows = m.sites.map((s: Loose) => [s.site, s.status, s.reason]);
    expect(rows).toHaveLength(4);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['site-a', 'invalid', 'absurd-value'],
        ['site-a', 'invalid', 'inconsistent-counts'],
        ['site-a', 'invalid', 'invalid-report'],
        ['site-c', 'pooled', undefined],
      ]),
    );
    for (const s of m.sites.filter((x: Loose) => x.status === 'invalid'))
      expect([s.cases, s.auc, s.sensitivity]).toEqual([null, null, null]);
    expect([m.overall.auc.k, m.overall.sensitivity.k]).toEqual([1, 1]);
    expect(m.overall.auc.estimate).toBeCloseTo(0.86, 6);
  });
});
