import { asc } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLog } from '../../db/schema.ts';
import { drainReportBatch } from '../../ingest/embedded.ts';
import { withheldPositives } from '../../reports/check-report.test-util.ts';
import {
  call,
  type Loose,
  openTestCloud,
  refusal,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../../test-fixtures.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let jobA: string;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  jobA = net.jobFor(net.acmeModel.modelId, 'site-a');
});
afterEach(() => cloud.close());

const failed = (over: Record<string, unknown> = {}) => ({
  jobId: jobA,
  attempt: 1,
  status: 'failed',
  failure: 'model-load-failed',
  counts: { filesScanned: 12, excluded: { 'not-dicom': 2 } },
  ...over,
});
const postStatus = (json: unknown, token = net.siteA.token, id = jobA) =>
  call(cloud, 'POST', `/v1/jobs/${id}/status`, { token, json });
const pulled = async () =>
  (await call(cloud, 'GET', '/v1/jobs', { token: net.siteA.token })).body.jobs as Loose[];
const status = async (token = cloud.adminToken) =>
  (await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/status`, { token })).body
    .jobs as Loose[];
const rerun = (json: unknown = {}, token = net.northToken) =>
  call(cloud, 'POST', `/v1/campaigns/${net.campaign.campaignId}/rerun`, { token, json });

describe('POST /v1/jobs/:id/status', () => {
  it('records a failure code and counts on the job, which is then not pulled again', async () => {
    expect((await postStatus(failed())).status).toBe(200);
    const row = (await status()).find((j) => j.jobId === jobA);
    expect(row).toMatchObject({
      siteId: 'site-a',
      state: 'failed',
      failure: 'model-load-failed',
      attempt: 1,
      failureCounts: { filesScanned: 12, excluded: { 'not-dicom': 2 } },
    });
    expect((await pulled()).map((j) => j.jobId)).not.toContain(jobA);
  });

  it('refuses text, unknown codes and counts that are not numbers (400), and another job id in the body', async () => {
    for (const body of [
      failed({ message: 'Load model from /data/DOE^JOHN failed' }),
      failed({ failure: 'DOE^JOHN' }),
      failed({ counts: { filesScanned: 'twelve' } }),
      failed({ counts: { excluded: { 'DOE^JOHN': 1 } } }),
      failed({ failure: undefined }),
      { jobId: jobA, attempt: 1, status: 'running', failure: 'no-cases' },
    ])
      expect(refusal(await postStatus(body))).toEqual({ status: 400, code: 'invalid-request' });
    expect(refusal(await postStatus(failed({ jobId: 'job_other' })))).toEqual({
      status: 400,
      code: 'job-id-mismatch',
    });
    expect((await status()).find((j) => j.jobId === jobA)?.state).toBe('pending');
  });

  it("refuses another site's job (404), a stale attempt and a job already reported (409)", async () => {
    expect(refusal(await postStatus(failed(), net.siteC.token))).toEqual({
      status: 404,
      code: 'job-not-found',
    });
    expect(refusal(await postStatus(failed({ attempt: 2 })))).toEqual({ status: 409, code: 'stale-attempt' });
    const r = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))),
    });
    expect(r.status).toBe(202);
    await drainReportBatch(cloud.deps);
    expect(refusal(await postStatus(failed()))).toEqual({ status: 409, code: 'job-already-reported' });
    expect((await status()).find((j) => j.jobId === jobA)?.state).toBe('reported');
  });
});

describe('GET /v1/campaigns/:id/status', () => {
  it('tells a report the gate withheld (a class below k) from one released, and a report held at the site', async () => {
    const report = { ...withheldPositives(), ...net.acmeIds('site-a') };
    const r = await call(cloud, 'POST', '/v1/reports', {
      token: net.siteA.token,
      json: signEnvelope(net.siteA, report),
    });
    expect(r.status).toBe(202);
    await drainReportBatch(cloud.deps);
    const jobC = net.jobFor(net.acmeModel.modelId, 'site-c');
    await postStatus({ jobId: jobC, attempt: 1, status: 'held' }, net.siteC.token, jobC);
    const states = await status();
    expect(states.find((j) => j.jobId === jobA)).toMatchObject({
      state: 'withheld',
      withheld: 'insufficient-class-size',
    });
    expect(states.find((j) => j.jobId === jobC)).toMatchObject({ state: 'held', siteId: 'site-c' });
    expect(new Set(states.map((j) => j.state))).toEqual(new Set(['withheld', 'held', 'pending']));
  });
});

describe('POST /v1/campaigns/:id/rerun', () => {
  it("sets the caller's failed jobs back to pending with attempt + 1, audited; the agent pulls the new attempt", async () => {
    await postStatus(failed());
    await postStatus(
      { ...failed(), jobId: net.jobFor(net.acmeModel.modelId, 'site-c'), failure: 'inference-failed' },
      net.siteC.token,
      net.jobFor(net.acmeModel.modelId, 'site-c'),
    );
    // The north coordinator reruns only north's failed job; site C's (south) stays failed.
    const r = await rerun();
    expect(r.status).toBe(200);
    expect(r.body.rerun).toEqual([
      { jobId: jobA, siteId: 'site-a', modelId: net.acmeModel.modelId, attempt: 2 },
    ]);
    const states = await status();
    expect(states.find((j) => j.jobId === jobA)).toMatchObject({ state: 'pending', attempt: 2 });
    expect(states.find((j) => j.siteId === 'site-c' && j.modelId === net.acmeModel.modelId)).toMatchObject({
      state: 'failed',
      failure: 'inference-failed',
    });
    expect((await pulled()).find((j) => j.jobId === jobA)).toMatchObject({ status: 'pending', attempt: 2 });
    // A status for the old attempt is refused; one for the new attempt is recorded.
    expect(refusal(await postStatus(failed()))).toEqual({ status: 409, code: 'stale-attempt' });
    expect((await postStatus({ jobId: jobA, attempt: 2, status: 'running' })).status).toBe(200);

    const audit = await cloud.deps.db.select().from(auditLog).orderBy(asc(auditLog.seq));
    expect(audit.filter((e) => e.action === 'campaign.rerun')).toHaveLength(1);
  });

  it('narrows to a site or a model, touches no pending or reported job, and refuses vendors and sites', async () => {
    await postStatus(failed());
    expect((await rerun({ siteId: 'site-b' }, cloud.adminToken)).body.rerun).toEqual([]);
    expect((await rerun({ modelId: net.globexModel.modelId }, cloud.adminToken)).body.rerun).toEqual([]);
    expect(
      (await rerun({ siteId: 'site-a', modelId: net.acmeModel.modelId }, cloud.adminToken)).body.rerun,
    ).toHaveLength(1);
    expect((await rerun({}, cloud.adminToken)).body.rerun).toEqual([]);
    expect(refusal(await rerun({ siteId: '../x' }, cloud.adminToken))).toEqual({
      status: 400,
      code: 'invalid-request',
    });
    expect((await rerun({}, net.acmeToken)).status).toBe(403);
    expect((await rerun({}, net.siteA.token)).status).toBe(403);
  });
});
