import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalJson } from '../../../schemas/canonical-json.ts';
import { createCloudApp } from '../../app.ts';
import { auditLog, nonces, queueMessages, reportReceipts, reports, siteKeys } from '../../db/schema.ts';
import { drainReportBatch } from '../../ingest/embedded.ts';
import {
  call,
  type Loose,
  openTestCloud,
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

async function stored() {
  const db = cloud.deps.db;
  return {
    reports: (await db.select().from(reports)).length,
    receipts: (await db.select().from(reportReceipts)).length,
    queued: (await db.select().from(queueMessages)).length,
  };
}

const NOTHING = { reports: 0, receipts: 0, queued: 0 };

async function send(envelope: unknown, token = net.siteA.token) {
  return call(cloud, 'POST', '/v1/reports', { token, json: envelope });
}

async function expectRefused(res: { status: number; body: Loose }, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.body.error.message).toEqual(expect.any(String));
  expect(await stored()).toEqual(NOTHING);
}

describe('POST /v1/reports refuses, in the contract order, and stores nothing', () => {
  it('a body that is not JSON → 400 invalid-envelope', async () => {
    const r = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      body: '{"schema": nope',
      headers: { 'content-type': 'application/json' },
    });
    await expectRefused(r, 400, 'invalid-envelope');
  });

  it('an envelope missing its signature → 400 invalid-envelope', async () => {
    const { signature: _s, ...unsigned } = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    await expectRefused(await send(unsigned), 400, 'invalid-envelope');
  });

  it("an envelope for another site than the token's → 403 site-mismatch", async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    await expectRefused(await send(env, net.siteC.token), 403, 'site-mismatch');
  });

  it('an unknown key → 401 unknown-key', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')), { keyId: 'key_nope' });
    await expectRefused(await send(env), 401, 'unknown-key');
  });

  it("another site's key → 401 unknown-key", async () => {
    const env = signEnvelope({ ...net.siteC, siteId: 'site-a' }, siteReport(net.acmeIds('site-a')));
    await expectRefused(await send(env), 401, 'unknown-key');
  });

  it('a revoked key → 401 revoked-key', async () => {
    await cloud.deps.db.update(siteKeys).set({ revokedAt: T0 }).where(eq(siteKeys.keyId, net.siteA.keyId));
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    await expectRefused(await send(env), 401, 'revoked-key');
  });

  it('a signature by another private key → 401 bad-signature', async () => {
    const env = signEnvelope(
      { ...net.siteA, privateKey: siteKeyPair().privateKey },
      siteReport(net.acmeIds('site-a')),
    );
    await expectRefused(await send(env), 401, 'bad-signature');
  });

  it('a payload changed after signing → 401 bad-signature', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    const other = siteReport(net.acmeIds('site-a'), { tp: 20 });
    await expectRefused(
      await send({ ...env, payload: Buffer.from(canonicalJson(other)).toString('base64') }),
      401,
      'bad-signature',
    );
  });

  it('forgets a nonce once no envelope carrying it could pass the timestamp check any more', async () => {
    const first = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    expect((await send(first)).status).toBe(202);
    cloud.deps.clock.advance(16 * 60_000);
    // Any later envelope from the site will do (this one is a second report for the same job).
    const later = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')), {
      timestamp: cloud.deps.clock.now(),
    });
    expect((await send(later)).body.error.code).toBe('job-already-reported');
    const kept = await cloud.deps.db.select().from(nonces);
    expect(kept.map((n) => n.nonce)).toEqual([later.nonce]);
    // The forgotten nonce cannot be replayed: its envelope is stale by now.
    expect((await send(first)).body.error.code).toBe('stale-timestamp');
  });

  it('a timestamp more than 5 minutes old or ahead → 400 stale-timestamp', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    const old = signEnvelope(net.siteA, report, { timestamp: new Date(T0.getTime() - 5 * 60_000 - 1) });
    await expectRefused(await send(old), 400, 'stale-timestamp');
    const ahead = signEnvelope(net.siteA, report, { timestamp: new Date(T0.getTime() + 5 * 60_000 + 1) });
    await expectRefused(await send(ahead), 400, 'stale-timestamp');
    // Inside the window is fine.
    const edge = signEnvelope(net.siteA, report, { timestamp: new Date(T0.getTime() - 5 * 60_000) });
    expect((await send(edge)).status).toBe(202);
  });

  it('a nonce seen before → 409 replayed-nonce', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    expect((await send(env)).status).toBe(202);
    const before = await stored();
    const again = await send(env);
    expect({ status: again.status, code: again.body.error.code }).toEqual({
      status: 409,
      code: 'replayed-nonce',
    });
    // A different report under the same nonce is a replay too.
    const other = signEnvelope(net.siteA, siteReport(net.acmeIds('site-b')), { nonce: env.nonce });
    expect((await send(other)).body.error.code).toBe('replayed-nonce');
    expect(await stored()).toEqual(before);
  });

  it('a payload that is not canonical JSON → 400 invalid-report', async () => {
    const pretty = JSON.stringify(siteReport(net.acmeIds('site-a')), null, 2);
    await expectRefused(await send(signEnvelope(net.siteA, { raw: pretty })), 400, 'invalid-report');
  });

  it('a payload that is not JSON → 400 invalid-report', async () => {
    await expectRefused(
      await send(signEnvelope(net.siteA, { raw: 'patient: Jane Doe' })),
      400,
      'invalid-report',
    );
  });

  it('a canonical payload with a field the strict SiteReport does not allow → 400 invalid-report', async () => {
    const withName = { ...siteReport(net.acmeIds('site-a')), patientName: 'Jane Doe' };
    const r = await send(signEnvelope(net.siteA, { raw: canonicalJson(withName) }));
    await expectRefused(r, 400, 'invalid-report');
    expect(JSON.stringify(r.body)).not.toContain('Jane');
    expect(JSON.stringify(r.body)).not.toContain('patientName');
  });

  it('a report naming another site than its envelope → 400 report-site-mismatch', async () => {
    const report = siteReport({ ...net.acmeIds('site-a'), siteId: 'site-c' });
    await expectRefused(await send(signEnvelope(net.siteA, report)), 400, 'report-site-mismatch');
  });

  it('a job that is unknown, not this site’s, or of another campaign or model → 403 job-not-assigned', async () => {
    const ids = net.acmeIds('site-a');
    const cases = [
      { ...ids, jobId: 'job_unknown' },
      { ...ids, jobId: net.jobFor(net.acmeModel.modelId, 'site-c') },
      { ...ids, campaignId: 'cmp_other' },
      { ...ids, model: { ...ids.model, sha256: 'f'.repeat(64) } },
      { ...ids, model: { ...ids.model, version: '1.0.1' } },
      { ...ids, jobId: net.jobFor(net.globexModel.modelId, 'site-a') },
    ];
    for (const c of cases) {
      await expectRefused(await send(signEnvelope(net.siteA, siteReport(c))), 403, 'job-not-assigned');
    }
  });

  it('a reportId already queued or already accepted → 409 duplicate-report; stored once, ever', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    expect((await send(signEnvelope(net.siteA, report))).status).toBe(202);
    const queued = await send(signEnvelope(net.siteA, report));
    expect({ status: queued.status, code: queued.body.error.code }).toEqual({
      status: 409,
      code: 'duplicate-report',
    });
    expect(await stored()).toEqual({ reports: 0, receipts: 1, queued: 1 });

    expect(await drainReportBatch(cloud.deps)).toEqual([{ outcome: 'stored', reportId: report.reportId }]);
    const accepted = await send(signEnvelope(net.siteA, report));
    expect({ status: accepted.status, code: accepted.body.error.code }).toEqual({
      status: 409,
      code: 'duplicate-report',
    });
    expect(await stored()).toEqual({ reports: 1, receipts: 1, queued: 0 });
  });

  it('a second report (new reportId) for a job already reported → 409 job-already-reported', async () => {
    expect((await send(signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))))).status).toBe(202);
    const second = await send(
      signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'), { reportId: randomUUID() })),
    );
    expect({ status: second.status, code: second.body.error.code }).toEqual({
      status: 409,
      code: 'job-already-reported',
    });
    expect(await stored()).toEqual({ reports: 0, receipts: 1, queued: 1 });
  });

  it('two copies of one report racing: one 202, one 409', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    const results = await Promise.all([
      send(signEnvelope(net.siteA, report)),
      send(signEnvelope(net.siteA, report)),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    expect(await stored()).toEqual({ reports: 0, receipts: 1, queued: 1 });
  });

  it('reports arriving at once are queued in one transaction, each with its own report.queued entry', async () => {
    const globex = (siteId: string) => ({
      ...net.acmeIds(siteId),
      jobId: net.jobFor(net.globexModel.modelId, siteId),
      model: { vendor: 'globex', name: 'lung', version: '1.0.0', sha256: net.globexModel.sha256 },
    });
    const sends: [ReturnType<typeof siteReport>, typeof net.siteA][] = [
      [siteReport(net.acmeIds('site-a')), net.siteA],
      [siteReport(globex('site-a')), net.siteA],
      [siteReport(net.acmeIds('site-c')), net.siteC],
    ];
    const batches = vi.spyOn(cloud.deps.db, 'batch');
    const results = await Promise.all(sends.map(([r, s]) => send(signEnvelope(s, r), s.token)));
    expect(results.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(batches).toHaveBeenCalledTimes(1);
    const queuedFor = (await cloud.deps.db.select().from(auditLog))
      .filter((e) => e.action === 'report.queued')
      .map((e) => e.target)
      .sort();
    expect(queuedFor).toEqual(sends.map(([r]) => r.reportId).sort());
    expect(await stored()).toEqual({ reports: 0, receipts: 3, queued: 3 });
  });

  it('a queue outside the database that cannot take the report → 503 queue-unavailable; the same envelope can be sent again', async () => {
    // An SQS-like queue: not a table of this database, so its send cannot join the receipt's transaction.
    const q = cloud.deps.queue;
    const failing = createCloudApp({
      ...cloud.deps,
      queue: {
        send: () => Promise.reject(new Error('queue down')),
        receive: (...a) => q.receive(...a),
        ack: (id) => q.ack(id),
      },
    });
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    const res = await failing.request('/v1/reports', {
      method: 'POST',
      headers: { authorization: `Bearer ${net.siteA.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(env),
    });
    expect(((await res.json()) as Loose).error.code).toBe('queue-unavailable');
    // The receipt stays 'sending' (not yet known to be queued), so the resend below queues the report.
    expect(await cloud.deps.db.select({ status: reportReceipts.status }).from(reportReceipts)).toEqual([
      { status: 'sending' },
    ]);
    expect((await send(env)).status).toBe(202);
    expect(await stored()).toEqual({ reports: 0, receipts: 1, queued: 1 });
  });

  it('tokens: none → 401, a non-site token → 403', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    await expectRefused(await call(cloud, 'POST', '/v1/reports', { json: env }), 401, 'missing-token');
    await expectRefused(await send(env, cloud.adminToken), 403, 'forbidden');
    await expectRefused(await send(env, net.acmeToken), 403, 'forbidden');
  });

  it('a body over the JSON limit → 413 body-too-large', async () => {
    const env = signEnvelope(net.siteA, siteReport(net.acmeIds('site-a')));
    const huge = { ...env, padding: 'x'.repeat(1024 * 1024) };
    await expectRefused(await send(huge), 413, 'body-too-large');
  });
});

describe('GET /v1/reports/:reportId', () => {
  it('shows the status to its site, admins and coordinators of its region; 404 to others', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    await send(signEnvelope(net.siteA, report));
    const path = `/v1/reports/${report.reportId}`;
    expect((await call(cloud, 'GET', path, { token: net.siteA.token })).body).toEqual({
      reportId: report.reportId,
      status: 'queued',
    });
    expect((await call(cloud, 'GET', path, { token: cloud.adminToken })).status).toBe(200);
    expect((await call(cloud, 'GET', path, { token: net.northToken })).status).toBe(200);
    const other = await call(cloud, 'GET', path, { token: net.siteC.token });
    expect({ status: other.status, code: other.body.error.code }).toEqual({
      status: 404,
      code: 'report-not-found',
    });
    const unknown = await call(cloud, 'GET', `/v1/reports/${randomUUID()}`, { token: net.siteA.token });
    expect(unknown.status).toBe(404);
    expect((await call(cloud, 'GET', path, { token: net.acmeToken })).status).toBe(403);
  });
});

describe('GET /v1/reports/:reportId/receipt', () => {
  it('tells a site what became of its own report: unknown, queued, stored; another site hears unknown', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    const path = `/v1/reports/${report.reportId}/receipt`;
    const ask = async (token = net.siteA.token) => (await call(cloud, 'GET', path, { token })).body;
    expect(await ask()).toEqual({ status: 'unknown' });
    await send(signEnvelope(net.siteA, report));
    expect(await ask()).toEqual({ status: 'queued' });
    expect(await ask(net.siteC.token)).toEqual({ status: 'unknown' });
    await drainReportBatch(cloud.deps);
    expect(await ask()).toEqual({ status: 'stored' });
    expect(await ask(net.siteC.token)).toEqual({ status: 'unknown' });
    expect((await call(cloud, 'GET', path, { token: cloud.adminToken })).status).toBe(403);
  });

  it('a receipt not known to be queued (a crash before its message was sent) is unknown, and a resend queues it', async () => {
    const report = siteReport(net.acmeIds('site-a'));
    await cloud.deps.db.insert(reportReceipts).values({
      reportId: report.reportId,
      jobId: report.jobId,
      siteId: report.siteId,
      status: 'sending',
      receivedAt: T0,
    });
    const path = `/v1/reports/${report.reportId}/receipt`;
    expect((await call(cloud, 'GET', path, { token: net.siteA.token })).body.status).toBe('unknown');
    expect((await send(signEnvelope(net.siteA, report))).status).toBe(202);
    expect(await stored()).toEqual({ reports: 0, receipts: 1, queued: 1 });
    expect((await send(signEnvelope(net.siteA, report))).body.error.code).toBe('duplicate-report');
    await drainReportBatch(cloud.deps);
    expect(await stored()).toEqual({ reports: 1, receipts: 1, queued: 0 });
  });
});
