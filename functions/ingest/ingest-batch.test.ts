import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { auditLog, queueMessages, reports } from '../db/schema.ts';
import { REPORTS_TOPIC } from '../deps.ts';
import { openTestCloud, seedNetwork, signEnvelope, siteReport, type TestCloud } from '../test-fixtures.ts';
import { drainReportBatch } from './embedded.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

/** Three reports of three different jobs (two sites, two models), as queue message bodies. */
function threeReports() {
  const globexIds = (siteId: string) => ({
    ...net.acmeIds(siteId),
    jobId: net.jobFor(net.globexModel.modelId, siteId),
    model: { vendor: 'globex', name: 'lung', version: '1.0.0', sha256: net.globexModel.sha256 },
  });
  return [
    { signer: net.siteA, report: siteReport(net.acmeIds('site-a')) },
    { signer: net.siteA, report: siteReport(globexIds('site-a')) },
    { signer: net.siteC, report: siteReport(net.acmeIds('site-c')) },
  ].map(({ signer, report }) => ({
    report,
    body: JSON.stringify({ envelope: signEnvelope(signer, report) }),
  }));
}

const accepted = async () =>
  (await cloud.deps.db.select().from(auditLog))
    .filter((e) => e.action === 'report.accepted')
    .map((e) => e.target);

describe('ingestReportBatch (the embedded consumer)', () => {
  it('stores a batch in one transaction with its acks; a bad message in the middle is refused on its own', async () => {
    const [a, b, c] = threeReports();
    for (const body of [a!.body, 'garbage', b!.body, c!.body])
      await cloud.deps.queue.send(REPORTS_TOPIC, body);
    const batches = vi.spyOn(cloud.deps.db, 'batch');

    expect(await drainReportBatch(cloud.deps)).toEqual([
      { outcome: 'stored', reportId: a!.report.reportId },
      { outcome: 'rejected', code: 'invalid-message' },
      { outcome: 'stored', reportId: b!.report.reportId },
      { outcome: 'stored', reportId: c!.report.reportId },
    ]);
    // The receive, the three reports with their entries and acks, the refusal's count: three commits, not nine.
    expect(batches).toHaveBeenCalledTimes(3);
    expect(await cloud.deps.db.select().from(queueMessages)).toEqual([]);
    expect(await accepted()).toEqual([a!.report.reportId, b!.report.reportId, c!.report.reportId]);
  });

  it('a message twice in one batch: stored once, the second copy answered duplicate', async () => {
    const [a, b] = threeReports();
    for (const body of [a!.body, b!.body, a!.body]) await cloud.deps.queue.send(REPORTS_TOPIC, body);
    expect((await drainReportBatch(cloud.deps)).map((o) => o.outcome)).toEqual([
      'stored',
      'stored',
      'duplicate',
    ]);
    expect((await cloud.deps.db.select().from(reports)).length).toBe(2);
    expect(await accepted()).toEqual([a!.report.reportId, b!.report.reportId]);
  });

  it('a report the database refuses to store sinks only itself: logged retry with its reason code, no content', async () => {
    const [a, b, c] = threeReports();
    for (const { body } of [a!, b!, c!]) await cloud.deps.queue.send(REPORTS_TOPIC, body);
    // A failure of one row at the depth of the database (as a full disk would be), not a refusal of the report.
    await cloud.deps.db.$client.execute(
      `create trigger refuse_one before insert on reports when new.report_id = '${b!.report.reportId}'
       begin select raise(abort, 'refused by test'); end`,
    );

    expect((await drainReportBatch(cloud.deps)).map((o) => o.outcome)).toEqual(['stored', 'stored']);
    const [left] = await cloud.deps.db.select().from(queueMessages);
    expect(left).toMatchObject({ body: b!.body, attempts: 1 });
    const retry = cloud.deps.log.entries.filter((e) => e.code === 'retry');
    expect(retry).toEqual([
      {
        time: expect.any(String),
        event: 'ingest',
        code: 'retry',
        reason: 'SQLITE_CONSTRAINT_TRIGGER',
        ref: left!.id,
      },
    ]);
    expect(JSON.stringify(retry)).not.toContain(b!.report.reportId);
    // The batch's transaction failed first, and said why, before each message went on its own.
    expect(cloud.deps.log.entries.filter((e) => e.code === 'batch-split')).toEqual([
      { time: expect.any(String), event: 'ingest', code: 'batch-split', reason: 'SQLITE_CONSTRAINT_TRIGGER' },
    ]);

    await cloud.deps.db.$client.execute('drop trigger refuse_one');
    cloud.deps.clock.advance(61_000);
    expect(await drainReportBatch(cloud.deps)).toEqual([{ outcome: 'stored', reportId: b!.report.reportId }]);
  });
});
