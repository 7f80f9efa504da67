import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { auditLog, jobs, queueMessages, reportReceipts, reports, siteKeys } from '../db/schema.ts';
import { REPORTS_TOPIC } from '../deps.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  T0,
  type TestCloud,
} from '../test-fixtures.ts';
import { drainReportBatch, startEmbeddedIngest } from './embedded.ts';
import { handleReportMessage } from './handle-report-message.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const countReports = async () => (await cloud.deps.db.select().from(reports)).length;

function message() {
  const report = siteReport(net.acmeIds('site-a'));
  return { report, body: JSON.stringify({ envelope: signEnvelope(net.siteA, report) }) };
}

describe('handleReportMessage', () => {
  it('stores a report once and marks its job done, however often the message comes', async () => {
    const { report, body } = message();
    expect(await handleReportMessage(cloud.deps, body)).toEqual({
      outcome: 'stored',
      reportId: report.reportId,
    });
    expect(await handleReportMessage(cloud.deps, body)).toEqual({
      outcome: 'duplicate',
      reportId: report.reportId,
    });
    expect(await countReports()).toBe(1);
    const [job] = await cloud.deps.db.select().from(jobs).where(eq(jobs.id, report.jobId));
    expect(job?.status).toBe('done');
    const [row] = await cloud.deps.db.select().from(reports);
    expect(row?.report).toEqual(report);
  });

  it('stores a report and its acceptance entry together: when the entry cannot be written, neither is, and the redelivery writes both', async () => {
    const { report, body } = message();
    const sql = (s: string) => cloud.deps.db.$client.execute(s);
    await sql(`CREATE TRIGGER fail_accept BEFORE INSERT ON audit_log WHEN NEW.action = 'report.accepted'
               BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    await expect(handleReportMessage(cloud.deps, body)).rejects.toThrow();
    expect(await countReports()).toBe(0);
    await sql('DROP TRIGGER fail_accept');
    expect((await handleReportMessage(cloud.deps, body)).outcome).toBe('stored');
    expect(await countReports()).toBe(1);
    const accepted = async () =>
      (await cloud.deps.db.select().from(auditLog)).filter(
        (r) => r.action === 'report.accepted' && r.target === report.reportId,
      ).length;
    expect(await accepted()).toBe(1);
    // A further redelivery does not write it twice.
    expect((await handleReportMessage(cloud.deps, body)).outcome).toBe('duplicate');
    expect(await accepted()).toBe(1);
  });

  it('rejects what can never be stored, with a code', async () => {
    expect(await handleReportMessage(cloud.deps, 'not json')).toEqual({
      outcome: 'rejected',
      code: 'invalid-message',
    });
    const { body } = message();
    const env = JSON.parse(body).envelope;
    const tampered = JSON.stringify({ envelope: { ...env, nonce: 'A'.repeat(24) } });
    expect(await handleReportMessage(cloud.deps, tampered)).toEqual({
      outcome: 'rejected',
      code: 'bad-signature',
    });
    expect(await countReports()).toBe(0);
  });

  it('still stores a report accepted before its key was rotated away, and ignores the clock skew', async () => {
    const { body } = message();
    await cloud.deps.db
      .update(siteKeys)
      .set({ revokedAt: T0, revokedReason: 'rotated' })
      .where(eq(siteKeys.keyId, net.siteA.keyId));
    cloud.deps.clock.advance(3_600_000);
    expect((await handleReportMessage(cloud.deps, body)).outcome).toBe('stored');
  });

  it('refuses a queued report whose key a coordinator revoked, and frees its job for a new report', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    const sent = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, report),
    });
    expect(sent.status).toBe(202);
    const revoke = await call(cloud, 'POST', `/v1/sites/site-a/keys/${net.siteA.keyId}/revoke`, {
      token: cloud.adminToken,
    });
    expect(revoke.status).toBe(200);
    expect(await drainReportBatch(cloud.deps)).toEqual([{ outcome: 'rejected', code: 'revoked-key' }]);
    expect(await countReports()).toBe(0);
    expect(await cloud.deps.db.select().from(reportReceipts)).toEqual([]);
    const [job] = await cloud.deps.db.select().from(jobs).where(eq(jobs.id, report.jobId));
    expect(job?.status).toBe('pending');
  });
});

describe('the embedded consumer', () => {
  it('acks handled and rejected messages; leaves failures for redelivery', async () => {
    await cloud.deps.queue.send(REPORTS_TOPIC, 'garbage');
    expect(await drainReportBatch(cloud.deps)).toEqual([{ outcome: 'rejected', code: 'invalid-message' }]);
    expect(await cloud.deps.db.select().from(queueMessages)).toEqual([]);

    await cloud.deps.queue.send(REPORTS_TOPIC, message().body);
    const broken = new Proxy(cloud.deps.db, {
      get: (target, prop) =>
        prop === 'batch'
          ? () => Promise.reject(new Error('database unavailable'))
          : Reflect.get(target, prop, target),
    }) as Database;
    expect(await drainReportBatch({ ...cloud.deps, db: broken })).toEqual([]);
    const [left] = await cloud.deps.db.select().from(queueMessages);
    expect(left?.attempts).toBe(1);
    cloud.deps.clock.advance(61_000);
    expect((await drainReportBatch(cloud.deps)).map((o) => o.outcome)).toEqual(['stored']);
  });

  it('wakes on send and stops cleanly', async () => {
    const stop = startEmbeddedIngest(cloud.deps, { pollMs: 60_000 });
    const report = siteReport(net.acmeIds('site-a'));
    const sent = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, report),
    });
    expect(sent.status).toBe(202);
    for (let i = 0; i < 100 && (await countReports()) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await stop();
    expect(await countReports()).toBe(1);
  });
});
