import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Criteria } from '../../schemas/criteria.ts';
import { drainReportBatch } from '../ingest/embedded.ts';
import {
  call,
  type Loose,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../test-fixtures.ts';
import { applyVerdictsOfBuiltComparison } from './verdicts-from-route.ts';

/** The comparison route decides rollouts only from a whole-campaign comparison. */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let campaignId: string;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  const criteria: Criteria = {
    schema: 'cairn.criteria/v1',
    rules: [{ metric: 'sensitivity', scope: 'region', bound: 'estimate', atLeast: 0.7 }],
  };
  const created = await call(cloud, 'POST', '/v1/campaigns', {
    token: cloud.adminToken,
    json: {
      name: 'decides',
      minCell: 3,
      modelIds: [net.acmeModel.modelId],
      siteIds: ['site-a', 'site-c'],
      criteria,
    },
  });
  campaignId = created.body.campaignId;
  const model = { vendor: 'acme', name: 'chest-xray', version: '1.0.0', sha256: net.acmeModel.sha256 };
  // North's one site sees 16 of 20 positives (0.8, passes); south's 8 of 20 (0.4, fails).
  for (const [signer, tp] of [
    [net.siteA, 16],
    [net.siteC, 8],
  ] as const) {
    const jobId = created.body.jobs.find((j: Loose) => j.siteId === signer.siteId).jobId;
    const report = siteReport({ campaignId, jobId, siteId: signer.siteId, model }, { tp });
    const sent = await call(cloud, 'POST', '/v1/reports', {
      token: signer.token,
      json: signEnvelope(signer, report),
    });
    expect(sent.status).toBe(202);
  }
  await drainReportBatch(cloud.deps);
});
afterEach(() => cloud.close());

const compare = async (token: string, query = '') => {
  const r = await call(cloud, 'GET', `/v1/campaigns/${campaignId}/comparison${query}`, { token });
  expect(r.status).toBe(200);
  return r.body;
};
const states = async () =>
  (
    await call(cloud, 'GET', `/v1/models/${net.acmeModel.modelId}/rollouts`, { token: cloud.adminToken })
  ).body.rollouts.map((r: Loose) => `${r.rollout.regionId}/${r.rollout.state}/${r.rollout.events}`);

describe('verdicts move rollouts when the comparison is built', () => {
  it('a regional coordinator, a vendor, or a chosen subset of contrasts decides nothing', async () => {
    const partial = await compare(net.northToken);
    expect(partial.models[0].regions.map((r: Loose) => `${r.region}/${r.verdict.verdict}`)).toEqual([
      'north/pass',
    ]);
    await compare(net.acmeToken);
    await compare(cloud.adminToken, '?contrasts=adjacent');
    expect((await states()).sort()).toEqual(['north/evaluating/0', 'south/evaluating/0']);
  });

  it('the whole campaign’s comparison: pass → recommended, fail → not-recommended, once per evidence', async () => {
    const whole = await compare(cloud.adminToken);
    expect(whole.models[0].regions.map((r: Loose) => `${r.region}/${r.verdict.verdict}`)).toEqual([
      'north/pass',
      'south/fail',
    ]);
    expect((await states()).sort()).toEqual(['north/recommended/1', 'south/not-recommended/1']);
    const allRegions = await call(cloud, 'POST', '/v1/tokens', {
      token: cloud.adminToken,
      json: { role: 'coordinator', label: 'every region' },
    });
    await compare(allRegions.body.token);
    await compare(cloud.adminToken);
    expect((await states()).sort()).toEqual(['north/recommended/1', 'south/not-recommended/1']);
  });

  it('whole-campaign comparisons built at once all answer, and the verdicts are recorded once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        call(cloud, 'GET', `/v1/campaigns/${campaignId}/comparison`, { token: cloud.adminToken }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect((await states()).sort()).toEqual(['north/recommended/1', 'south/not-recommended/1']);
    // As two cloud instances would: new evidence applied twice at once races for the same event number.
    const admin = {
      tokenId: 't',
      role: 'admin',
      vendorId: null,
      regionIds: null,
      siteId: null,
      personId: null,
    } as const;
    const newer = answers[0]?.body;
    newer.models[0].regions[1].verdict.verdict = 'pass';
    const text = JSON.stringify(newer);
    await Promise.all([
      applyVerdictsOfBuiltComparison(cloud.deps, admin, 'all', text),
      applyVerdictsOfBuiltComparison(cloud.deps, admin, 'all', text),
    ]);
    // One new event per rollout (new evidence), not two.
    expect((await states()).sort()).toEqual(['north/recommended/2', 'south/recommended/2']);
  });
});
