import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCloudApp } from '../app.ts';
import { sha256Hex } from '../audit/hashes.ts';
import { verifyAuditData } from '../audit/verify-data.ts';
import {
  call,
  fakeOnnx,
  type Loose,
  modelUploadForm,
  openTestCloud,
  refusal,
  seedNetwork,
  type TestCloud,
  testManifest,
} from '../test-fixtures.ts';
import { applyComparisonVerdicts, comparisonEvidenceSha256 } from './from-comparison.ts';
import { applyVerdict, approvalMonthsFromEnv } from './lifecycle.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let people: Record<'alice' | 'alice2' | 'bob' | 'carol', string>;
const EVIDENCE = sha256Hex('comparison snapshot 1');

async function tokenFor(json: Record<string, unknown>): Promise<string> {
  const r = await call(cloud, 'POST', '/v1/tokens', { token: cloud.adminToken, json });
  expect(r.status).toBe(201);
  return r.body.token;
}

beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  people = {
    alice: await tokenFor({ role: 'coordinator', regionIds: ['north'], personId: 'alice', label: 'a' }),
    alice2: await tokenFor({ role: 'admin', personId: 'alice', label: 'alice laptop' }),
    bob: await tokenFor({ role: 'admin', personId: 'bob', label: 'b' }),
    carol: await tokenFor({ role: 'coordinator', personId: 'carol', label: 'c' }),
  };
});
afterEach(() => cloud.close());

const acme = () => net.acmeModel.modelId;
const act = (token: string, region: string, action: string, json: Loose = { reason: 'per the review' }) =>
  call(cloud, 'POST', `/v1/rollouts/${acme()}/${region}/${action}`, { token, json });
const stateOf = async (region: string) =>
  (await call(cloud, 'GET', `/v1/models/${acme()}/rollouts?regionId=${region}`, { token: cloud.adminToken }))
    .body.rollouts[0].rollout;

describe('rollouts through the cloud API', () => {
  it('starts every evaluated (model version, region) as evaluating, and the verdict recommends or not', async () => {
    const list = await call(cloud, 'GET', '/v1/rollouts', { token: cloud.adminToken });
    expect(list.body.rollouts.map((r: Loose) => `${r.name}/${r.regionId}/${r.state}`).sort()).toEqual([
      'chest-xray/north/evaluating',
      'chest-xray/south/evaluating',
      'lung/north/evaluating',
      'lung/south/evaluating',
    ]);
    const key = { modelId: acme(), regionId: 'north' };
    expect(
      await applyVerdict(cloud.deps, { ...key, verdict: 'inconclusive', evidenceSha256: EVIDENCE }),
    ).toEqual({
      state: 'evaluating',
      changed: false,
      code: 'verdict-inconclusive',
    });
    expect(
      await applyVerdict(cloud.deps, { ...key, verdict: 'pass', evidenceSha256: EVIDENCE }),
    ).toMatchObject({
      state: 'recommended',
      changed: true,
    });
    expect(
      await applyVerdict(cloud.deps, { ...key, verdict: 'pass', evidenceSha256: EVIDENCE }),
    ).toMatchObject({
      changed: false,
      code: 'same-evidence',
    });
    await applyVerdict(cloud.deps, {
      modelId: acme(),
      regionId: 'south',
      verdict: 'fail',
      evidenceSha256: EVIDENCE,
    });
    expect((await stateOf('south')).state).toBe('not-recommended');
    // The vendor sees its own model's rollouts only; the north coordinator only north's.
    const vendor = await call(cloud, 'GET', '/v1/rollouts', { token: net.globexToken });
    expect(vendor.body.rollouts.map((r: Loose) => r.name)).toEqual(['lung', 'lung']);
    const north = await call(cloud, 'GET', '/v1/rollouts', { token: people.alice });
    expect(new Set(north.body.rollouts.map((r: Loose) => r.regionId))).toEqual(new Set(['north']));
  });

  it('approves with four eyes: two people, the second confirming, bound to the evidence, the sha256 and the threshold', async () => {
    await applyVerdict(cloud.deps, {
      modelId: acme(),
      regionId: 'north',
      verdict: 'pass',
      evidenceSha256: EVIDENCE,
    });
    expect(refusal(await act(net.acmeToken, 'north', 'approve'))).toEqual({
      status: 403,
      code: 'decision-not-allowed',
    });
    expect(refusal(await act(net.northToken, 'north', 'approve'))).toEqual({
      status: 403,
      code: 'token-without-person',
    });
    expect(refusal(await act(people.alice, 'north', 'approve', {}))).toEqual({
      status: 400,
      code: 'invalid-request',
    });
    expect((await act(people.alice, 'north', 'approve')).body.rollout).toMatchObject({
      state: 'recommended',
      pending: { action: 'approve', personId: 'alice' },
    });
    expect(refusal(await act(people.alice, 'north', 'approve'))).toEqual({
      status: 409,
      code: 'already-proposed',
    });
    // The same person with another token is still one pair of eyes.
    expect(refusal(await act(people.alice2, 'north', 'confirm'))).toEqual({
      status: 409,
      code: 'same-person',
    });
    const confirmed = await act(people.bob, 'north', 'confirm', {
      reason: 'agreed',
      evidenceSha256: EVIDENCE,
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.rollout).toMatchObject({
      state: 'approved',
      pending: null,
      concession: null,
      approvedAt: '2026-11-27T10:00:00.000Z',
      reviewDueAt: '2027-11-27T10:00:00.000Z',
    });
    expect(confirmed.body.events.map((e: Loose) => [e.action, e.from, e.to, e.personId])).toEqual([
      ['recommend', 'evaluating', 'recommended', null],
      ['approve', 'recommended', 'recommended', 'alice'],
      ['confirm-approval', 'recommended', 'approved', 'bob'],
    ]);
    for (const e of confirmed.body.events)
      expect(e).toMatchObject({
        evidenceSha256: EVIDENCE,
        modelSha256: net.acmeModel.sha256,
        threshold: 0.5,
      });
    expect(confirmed.body.events[2].reason).toBe('agreed');
    expect(refusal(await act(people.carol, 'north', 'confirm'))).toEqual({
      status: 409,
      code: 'nothing-to-confirm',
    });
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true, disagreements: [] });
  });

  it('needs a concession to approve what did not pass, and shows it with the approval; scoped coordinators act on their regions only', async () => {
    await applyVerdict(cloud.deps, {
      modelId: acme(),
      regionId: 'south',
      verdict: 'fail',
      evidenceSha256: EVIDENCE,
    });
    expect(refusal(await act(people.alice, 'south', 'approve'))).toEqual({
      status: 404,
      code: 'rollout-not-found',
    });
    expect(refusal(await act(people.carol, 'south', 'approve'))).toEqual({
      status: 409,
      code: 'concession-required',
    });
    const concession = 'south has no alternative; monitored monthly';
    await act(people.carol, 'south', 'approve', { reason: 'clinical need', concession });
    const approved = await act(people.bob, 'south', 'confirm');
    expect(approved.body.rollout).toMatchObject({ state: 'approved', verdict: 'fail', concession });
    const listed = await call(cloud, 'GET', `/v1/rollouts?regionId=south&modelId=${acme()}`, {
      token: people.carol,
    });
    expect(listed.body.rollouts).toMatchObject([{ state: 'approved', concession }]);
  });

  it('suspends with one person at once, reinstates with two, and an approval falls due for review after its period', async () => {
    await applyVerdict(cloud.deps, {
      modelId: acme(),
      regionId: 'north',
      verdict: 'pass',
      evidenceSha256: EVIDENCE,
    });
    await act(people.alice, 'north', 'approve');
    await act(people.bob, 'north', 'confirm');
    expect(refusal(await act(people.alice, 'north', 'reinstate'))).toEqual({
      status: 409,
      code: 'not-suspended',
    });
    expect((await act(people.alice, 'north', 'deploy')).body.rollout.state).toBe('deployed');
    expect(refusal(await act(net.acmeToken, 'north', 'suspend'))).toEqual({
      status: 403,
      code: 'decision-not-allowed',
    });
    // A coordinator without a named person may still pull the brake.
    expect(
      (await act(net.northToken, 'north', 'suspend', { reason: 'drift alert' })).body.rollout.state,
    ).toBe('suspended');
    await act(people.alice, 'north', 'reinstate');
    expect((await stateOf('north')).state).toBe('suspended');
    expect(refusal(await act(people.alice2, 'north', 'confirm'))).toEqual({
      status: 409,
      code: 'same-person',
    });
    expect((await act(people.bob, 'north', 'confirm')).body.rollout.state).toBe('deployed');

    cloud.deps.clock.advance(366 * 24 * 3_600_000);
    expect((await stateOf('north')).state).toBe('review-due');
    expect(refusal(await act(people.alice, 'north', 'deploy'))).toEqual({
      status: 409,
      code: 'not-approved',
    });
    expect((await act(people.alice, 'north', 'withdraw')).body.rollout.state).toBe('withdrawn');
    expect(refusal(await act(people.bob, 'north', 'suspend'))).toEqual({
      status: 409,
      code: 'rollout-withdrawn',
    });
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true, disagreements: [] });
  });

  it('supersedes the older version of a model in a region once a newer one is deployed there', async () => {
    const upload = await call(cloud, 'POST', '/v1/models', {
      token: net.acmeToken,
      body: modelUploadForm(testManifest({ version: '1.1.0' }), fakeOnnx('acme 1.1')),
    });
    const newer = upload.body.modelId as string;
    const campaign = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: { name: 'Follow-up', minCell: 3, modelIds: [newer], siteIds: ['site-a'] },
    });
    expect(campaign.status).toBe(201);
    for (const modelId of [acme(), newer]) {
      await applyVerdict(cloud.deps, {
        modelId,
        regionId: 'north',
        verdict: 'pass',
        evidenceSha256: EVIDENCE,
      });
      const at = (action: string, token: string) =>
        call(cloud, 'POST', `/v1/rollouts/${modelId}/north/${action}`, { token, json: { reason: 'ok' } });
      await at('approve', people.alice);
      await at('confirm', people.bob);
      expect((await at('deploy', people.alice)).body.rollout.state).toBe('deployed');
    }
    const older = await stateOf('north');
    expect(older.state).toBe('superseded');
    const south = await call(cloud, 'GET', `/v1/rollouts?modelId=${newer}`, { token: cloud.adminToken });
    expect(south.body.rollouts.map((r: Loose) => [r.regionId, r.state])).toEqual([['north', 'deployed']]);
  });

  it('holds an approval for the configured period (CAIRN_APPROVAL_MONTHS), 12 months by default', async () => {
    expect(approvalMonthsFromEnv({})).toEqual({});
    expect(approvalMonthsFromEnv({ CAIRN_APPROVAL_MONTHS: '6' })).toEqual({ approvalMonths: 6 });
    expect(() => approvalMonthsFromEnv({ CAIRN_APPROVAL_MONTHS: '0.5' })).toThrow(/whole number of months/);
    const sixMonths = { ...cloud, app: createCloudApp({ ...cloud.deps, approvalMonths: 6 }) };
    await applyVerdict(cloud.deps, {
      modelId: acme(),
      regionId: 'north',
      verdict: 'pass',
      evidenceSha256: EVIDENCE,
    });
    const at = (action: string, token: string) =>
      call(sixMonths, 'POST', `/v1/rollouts/${acme()}/north/${action}`, { token, json: { reason: 'ok' } });
    await at('approve', people.alice);
    expect((await at('confirm', people.bob)).body.rollout.reviewDueAt).toBe('2027-05-27T10:00:00.000Z');
  });

  it('takes each regional verdict of a comparison, bound to its snapshot and criteria; the same comparison built again adds nothing', async () => {
    const criteria = sha256Hex('criteria v1');
    const comparison = {
      generatedAt: '2026-11-27T10:00:00.000Z',
      models: [
        {
          modelId: acme(),
          regions: [
            { region: 'north', verdict: { verdict: 'pass' as const } },
            { region: 'south', verdict: { verdict: 'fail' as const } },
          ],
        },
        {
          modelId: net.globexModel.modelId,
          regions: [{ region: 'north', verdict: { verdict: 'inconclusive' as const } }],
        },
      ],
      criteria: { sha256: criteria },
    };
    const outcomes = await applyComparisonVerdicts(cloud.deps, comparison);
    expect(outcomes.map((o) => `${o.regionId}/${o.state}/${o.changed}`)).toEqual([
      'north/recommended/true',
      'south/not-recommended/true',
      'north/evaluating/false',
    ]);
    const again = await applyComparisonVerdicts(cloud.deps, {
      ...comparison,
      generatedAt: '2026-11-28T10:00:00.000Z',
    });
    expect(again.map((o) => o.code)).toEqual(['same-evidence', 'same-evidence', 'verdict-inconclusive']);
    const shown = await call(cloud, 'GET', `/v1/models/${acme()}/rollouts?regionId=north`, {
      token: cloud.adminToken,
    });
    expect(shown.body.rollouts[0].events).toMatchObject([
      { action: 'recommend', evidenceSha256: comparisonEvidenceSha256(comparison), criteriaSha256: criteria },
    ]);
  });
});
