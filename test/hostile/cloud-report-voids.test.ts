import { serve } from '@hono/node-server';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, reportRefusals } from '../../functions/db/schema.ts';
import { drainReportBatch } from '../../functions/ingest/embedded.ts';
import { call, type Loose } from '../../functions/test-fixtures.ts';
import { runCairn } from '../support/cli-runner.ts';
import { cloud, comparison, good, net, send, useReportCloud } from './cloud-reports.test-util.ts';

/** A coordinator takes a bad report out of the comparison; refused reports are counted, not each audited. */

useReportCloud();

describe('a coordinator voids a report', () => {
  async function storedReport() {
    const r = good();
    expect((await send(r)).status).toBe(202);
    await drainReportBatch(cloud.deps);
    return r;
  }
  const voidIt = (reportId: string, token: string, json: unknown = { reason: 'labels shifted by one row' }) =>
    call(cloud, 'POST', `/v1/reports/${reportId}/void`, { token, json });

  it('leaves the comparison (listed voided, with the reason), audited without the words, job reopened', async () => {
    const r = await storedReport();
    const res = await voidIt(r.reportId, net.northToken);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reportId: r.reportId, siteId: 'site-a', jobReopened: true });
    const m = await comparison();
    expect(m.sites).toEqual([
      expect.objectContaining({ site: 'site-a', status: 'voided', reason: 'labels shifted by one row' }),
    ]);
    expect(m.overall.auc.k).toBe(0);
    const status = await call(cloud, 'GET', `/v1/reports/${r.reportId}`, { token: net.siteA.token });
    expect(status.body).toEqual({ reportId: r.reportId, status: 'voided' });

    const [entry] = await cloud.deps.db.select().from(auditLog).where(eq(auditLog.action, 'report.voided'));
    expect(entry?.target).toBe(r.reportId);
    expect(entry?.detail).not.toContain('labels');
    expect(JSON.parse(entry?.detail ?? '{}')).toMatchObject({
      siteId: 'site-a',
      reasonSha256: expect.any(String),
    });

    // The voided report cannot come back; a corrected one (a new reportId) is accepted and pooled.
    expect((await send({ ...r })).body.error.code).toBe('duplicate-report');
    expect((await send(good({ tp: 15 }))).status).toBe(202);
    expect((await drainReportBatch(cloud.deps))[0]?.outcome).toBe('stored');
    const after = await comparison();
    expect(after.sites.map((s: Loose) => s.status).sort()).toEqual(['pooled', 'voided']);
    expect(after.overall.sensitivity.k).toBe(1);
  });

  it('twice → 409 report-already-voided; outside the region → 404; as a site → 403; no reason → 400', async () => {
    const r = await storedReport();
    const south = (
      await call(cloud, 'POST', '/v1/tokens', {
        token: cloud.adminToken,
        json: { role: 'coordinator', regionIds: ['south'], label: 'south' },
      })
    ).body.token;
    expect((await voidIt(r.reportId, south)).body.error.code).toBe('report-not-found');
    expect((await voidIt(r.reportId, net.siteA.token)).status).toBe(403);
    expect((await voidIt(r.reportId, net.northToken, {})).status).toBe(400);
    expect((await voidIt(r.reportId, net.northToken, { reason: 'a\nb c' })).status).toBe(400);
    expect((await voidIt(r.reportId, net.northToken)).status).toBe(200);
    expect((await voidIt(r.reportId, cloud.adminToken)).body.error.code).toBe('report-already-voided');
    const entries = await cloud.deps.db.select().from(auditLog).where(eq(auditLog.action, 'report.voided'));
    expect(entries).toHaveLength(1);
  });

  it('by the CLI: `cairn campaign void-report --report ID --reason …`', async () => {
    const r = await storedReport();
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: cloud.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const args = [
        'campaign',
        'void-report',
        '--cloud',
        url,
        '--token',
        net.northToken,
        '--report',
        r.reportId,
      ];
      const done = await runCairn([...args, '--reason', 'wrong labels file', '--output', 'json']);
      expect(done.status, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ reportId: r.reportId, reason: 'wrong labels file' });
      const again = await runCairn([...args, '--reason', 'wrong labels file']);
      expect(again.status).not.toBe(0);
      expect(again.stderr.trim().split('\n')).toHaveLength(1);
      expect(again.stderr).toMatch(/^cairn: .*already been voided/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('refused reports are counted, not each appended to the audit chain', () => {
  it('50 refusals of one kind → one audit entry, a count of 50 the coordinator sees', async () => {
    const refusedEntries = async () =>
      (await cloud.deps.db.select().from(auditLog).where(eq(auditLog.action, 'report.refused'))).length;
    const before = await refusedEntries();
    for (let i = 0; i < 50; i++) {
      const r = good();
      r.auc.se = 1e308;
      expect((await send(r)).status).toBe(422);
    }
    expect((await refusedEntries()) - before).toBe(1);
    const north = await call(cloud, 'GET', '/v1/report-refusals', { token: net.northToken });
    expect(north.body.refusals).toEqual([
      expect.objectContaining({ siteId: 'site-a', stage: 'api', code: 'absurd-value', count: 50 }),
    ]);
    const south = (
      await call(cloud, 'POST', '/v1/tokens', {
        token: cloud.adminToken,
        json: { role: 'coordinator', regionIds: ['south'], label: 'south' },
      })
    ).body.token;
    expect((await call(cloud, 'GET', '/v1/report-refusals', { token: south })).body.refusals).toEqual([]);
    // Another day starts a new count (and one new entry).
    cloud.deps.clock.advance(24 * 3600_000);
    const r = good();
    r.auc.se = 1e308;
    expect((await send(r)).body.error.code).toBe('absurd-value');
    expect((await refusedEntries()) - before).toBe(2);
    const rows = await cloud.deps.db
      .select()
      .from(reportRefusals)
      .where(and(eq(reportRefusals.siteId, 'site-a'), eq(reportRefusals.code, 'absurd-value')));
    expect(rows.map((x) => x.count).sort()).toEqual([1, 50]);
  });
});
