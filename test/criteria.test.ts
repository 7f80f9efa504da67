import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parameterSha256 } from '../functions/audit/hashes.ts';
import { verifyAuditData } from '../functions/audit/verify-data.ts';
import { drainReportBatch } from '../functions/ingest/embedded.ts';
import {
  call,
  type Loose,
  openTestCloud,
  refusal,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../functions/test-fixtures.ts';
import type { Criteria } from '../schemas/criteria.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const CRITERIA: Criteria = {
  schema: 'cairn.criteria/v1',
  rules: [
    { metric: 'auc', scope: 'region', bound: 'estimate', atLeast: 0.8 },
    { metric: 'sensitivity', scope: 'region', bound: 'ciLow', atLeast: 0.8 },
    { scope: 'overall', minCases: 400 },
  ],
};

const admin = () => cloud.adminToken;
const auditDetail = async (action: string, target: string) => {
  const r = await cloud.deps.db.$client.execute({
    sql: 'SELECT detail FROM audit_log WHERE action = ? AND target = ?',
    args: [action, target],
  });
  return JSON.parse(String(r.rows[0]?.detail));
};
const createWithCriteria = async (criteria: unknown = CRITERIA) =>
  call(cloud, 'POST', '/v1/campaigns', {
    token: admin(),
    json: {
      name: 'with criteria',
      minCell: 3,
      modelIds: [net.acmeModel.modelId],
      siteIds: ['site-a', 'site-c'],
      criteria,
    },
  });
const attach = (campaignId: string, criteria: unknown, token = admin()) =>
  call(cloud, 'POST', `/v1/campaigns/${campaignId}/criteria`, { token, json: { criteria } });

describe('acceptance criteria attached to a campaign', () => {
  it('at creation: frozen, their sha256 in the campaign.created entry, not post hoc; audit verify passes', async () => {
    const created = await createWithCriteria();
    expect(created.status).toBe(201);
    const sha = parameterSha256(CRITERIA);
    expect(created.body.criteriaSha256).toBe(sha);
    expect((await auditDetail('campaign.created', created.body.campaignId)).criteriaSha256).toBe(sha);
    const shown = await call(cloud, 'GET', `/v1/campaigns/${created.body.campaignId}`, { token: admin() });
    expect(shown.body.criteria).toMatchObject({ sha256: sha, postHoc: false, rules: CRITERIA.rules });
    expect(refusal(await attach(created.body.campaignId, CRITERIA))).toEqual({
      status: 409,
      code: 'criteria-frozen',
    });
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
  });

  it('added later: marked postHoc in the campaign and the chain, once only; a regional coordinator cannot', async () => {
    const id = net.campaign.campaignId;
    expect(refusal(await attach(id, CRITERIA, net.northToken))).toEqual({ status: 403, code: 'forbidden' });
    const added = await attach(id, CRITERIA);
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ postHoc: true, criteriaSha256: parameterSha256(CRITERIA) });
    expect(await auditDetail('campaign.criteria-added', id)).toEqual({
      criteriaSha256: parameterSha256(CRITERIA),
      postHoc: true,
    });
    expect((await call(cloud, 'GET', `/v1/campaigns/${id}`, { token: admin() })).body.criteria.postHoc).toBe(
      true,
    );
    expect(refusal(await attach(id, CRITERIA))).toEqual({ status: 409, code: 'criteria-frozen' });
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
  });

  it('bad criteria → 400 invalid-criteria naming the field; versus a version not in the campaign → 400', async () => {
    const bad = await createWithCriteria({
      schema: 'cairn.criteria/v1',
      rules: [{ metric: 'auc', scope: 'overall', bound: 'ciLow', atLeast: 1.5 }],
    });
    expect(refusal(bad)).toEqual({ status: 400, code: 'invalid-criteria' });
    expect(bad.body.error.message).toMatch(/rules\[0\]\.atLeast/);
    const unknown = await createWithCriteria({
      schema: 'cairn.criteria/v1',
      rules: [{ metric: 'auc', versus: 'chest-xray@9.9.9', margin: 0.05 }],
    });
    expect(refusal(unknown)).toEqual({ status: 400, code: 'criteria-unknown-model' });
  });

  it('criteria edited in the database around the API: audit verify names the campaign', async () => {
    const created = await createWithCriteria();
    await cloud.deps.db.$client.execute({
      sql: 'UPDATE campaigns SET criteria = ? WHERE id = ?',
      args: [JSON.stringify({ ...CRITERIA, rules: CRITERIA.rules.slice(0, 1) }), created.body.campaignId],
    });
    const result = await verifyAuditData(cloud.dir);
    expect(result.ok).toBe(false);
    expect(result.disagreements).toContainEqual(
      expect.objectContaining({
        kind: 'campaign',
        id: created.body.campaignId,
        problem: expect.stringMatching(/criteria/),
      }),
    );
  });

  it('the comparison carries the verdicts per region and overall, with the comparison’s own numbers', async () => {
    const created = await createWithCriteria();
    const campaignId = created.body.campaignId;
    const jobOf = (siteId: string) => created.body.jobs.find((j: Loose) => j.siteId === siteId).jobId;
    const model = { vendor: 'acme', name: 'chest-xray', version: '1.0.0', sha256: net.acmeModel.sha256 };
    for (const [signer, tp] of [
      [net.siteA, 16],
      [net.siteC, 8],
    ] as const) {
      const report = siteReport(
        { campaignId, jobId: jobOf(signer.siteId), siteId: signer.siteId, model },
        { tp },
      );
      const sent = await call(cloud, 'POST', '/v1/reports', {
        token: signer.token,
        json: signEnvelope(signer, report),
      });
      expect(sent.status).toBe(202);
    }
    await drainReportBatch(cloud.deps);
    const c = (await call(cloud, 'GET', `/v1/campaigns/${campaignId}/comparison`, { token: admin() })).body;
    expect(c.criteria).toMatchObject({ sha256: parameterSha256(CRITERIA), postHoc: false });
    const [m] = c.models;
    const north = m.regions.find((r: Loose) => r.region === 'north');
    const south = m.regions.find((r: Loose) => r.region === 'south');
    // North: AUC passes, sensitivity 16/20's CI straddles 0.8; south: 8/20's CI lies below it.
    expect(north.verdict.rules.map((r: Loose) => [r.rule, r.verdict])).toEqual([
      [0, 'pass'],
      [1, 'inconclusive'],
      [2, 'inconclusive'],
    ]);
    expect(north.verdict.rules[1].value).toBe(north.sensitivity.ciLow);
    expect(south.verdict.rules[1]).toMatchObject({ verdict: 'fail', value: south.sensitivity.ciLow });
    // 80 studies < 400: the minimum is not met, so neither region can pass or fail.
    expect([north.verdict.verdict, south.verdict.verdict, m.overall.verdict.verdict]).toEqual([
      'inconclusive',
      'inconclusive',
      'inconclusive',
    ]);
    // PPV and NPV are pooled like sensitivity, so rules on them are judged on the comparison's numbers too.
    expect([m.overall.ppv.k, m.overall.npv.k]).toEqual([2, 2]);
    expect(m.overall.verdict.rules).toEqual([
      { rule: 2, verdict: 'inconclusive', value: 80, reason: 'minimum not met: 80 cases < 400' },
    ]);
  });
});
