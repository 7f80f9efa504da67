import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/audit/hashes.ts';
import { verifyAuditData } from '../../functions/audit/verify-data.ts';
import { applyVerdict } from '../../functions/rollouts/lifecycle.ts';
import {
  call,
  type Loose,
  openTestCloud,
  refusal,
  seedNetwork,
  type TestCloud,
} from '../../functions/test-fixtures.ts';

/**
 * Attacks on rollout decisions: people acting beyond their role or region, one person posing as two, a
 * failed version approved without a word, decisions racing, and an insider moving a rollout by SQL. Each is
 * refused with its code, or named by `cairn audit verify`.
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
const EVIDENCE = sha256Hex('comparison');

const tokenFor = async (json: Record<string, unknown>) =>
  (await call(cloud, 'POST', '/v1/tokens', { token: cloud.adminToken, json })).body.token as string;
const act = (token: string, region: string, action: string, json: Loose = { reason: 'because' }) =>
  call(cloud, 'POST', `/v1/rollouts/${net.acmeModel.modelId}/${region}/${action}`, { token, json });
const sql = (statement: string) => cloud.deps.db.$client.execute(statement);

beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  for (const regionId of ['north', 'south'])
    await applyVerdict(cloud.deps, {
      modelId: net.acmeModel.modelId,
      regionId,
      verdict: 'pass',
      evidenceSha256: EVIDENCE,
    });
});
afterEach(() => cloud.close());

describe('hostile: rollout decisions', () => {
  it('a vendor approving its own model is refused: decision-not-allowed', async () => {
    expect(refusal(await act(net.acmeToken, 'north', 'approve'))).toEqual({
      status: 403,
      code: 'decision-not-allowed',
    });
  });

  it('an action the API does not know (a direct "approved") is refused: invalid-request', async () => {
    const bob = await tokenFor({ role: 'admin', personId: 'bob', label: 'b' });
    expect(refusal(await act(bob, 'north', 'approved'))).toEqual({ status: 400, code: 'invalid-request' });
    const shown = await call(cloud, 'GET', `/v1/rollouts?modelId=${net.acmeModel.modelId}&regionId=north`, {
      token: bob,
    });
    expect(shown.body.rollouts.map((r: Loose) => r.state)).toEqual(['recommended']);
  });

  it('a site token suspending a rollout is refused: decision-not-allowed', async () => {
    expect(refusal(await act(net.siteA.token, 'north', 'suspend'))).toEqual({
      status: 403,
      code: 'decision-not-allowed',
    });
  });

  it('one person with two tokens approving and confirming is refused: same-person', async () => {
    const first = await tokenFor({ role: 'coordinator', personId: 'mallory', label: 'desk' });
    const second = await tokenFor({ role: 'admin', personId: 'mallory', label: 'laptop' });
    expect((await act(first, 'north', 'approve')).status).toBe(200);
    expect(refusal(await act(second, 'north', 'confirm'))).toEqual({ status: 409, code: 'same-person' });
  });

  it('a token naming no person cannot be one of the four eyes: token-without-person', async () => {
    expect(refusal(await act(cloud.adminToken, 'north', 'approve'))).toEqual({
      status: 403,
      code: 'token-without-person',
    });
  });

  it('a vendor token claiming a person is refused at issue: invalid-request', async () => {
    const r = await call(cloud, 'POST', '/v1/tokens', {
      token: cloud.adminToken,
      json: { role: 'vendor', vendorId: 'acme', personId: 'eve', label: 'x' },
    });
    expect(refusal(r)).toEqual({ status: 400, code: 'invalid-request' });
  });

  it("a region-scoped coordinator acting on another region's rollout is refused: rollout-not-found", async () => {
    const north = await tokenFor({ role: 'coordinator', regionIds: ['north'], personId: 'nora', label: 'n' });
    expect(refusal(await act(north, 'south', 'suspend'))).toEqual({ status: 404, code: 'rollout-not-found' });
  });

  it('approving a failed version without a justification is refused: concession-required', async () => {
    await applyVerdict(cloud.deps, {
      modelId: net.acmeModel.modelId,
      regionId: 'south',
      verdict: 'fail',
      evidenceSha256: sha256Hex('later comparison'),
    });
    const carol = await tokenFor({ role: 'coordinator', personId: 'carol', label: 'c' });
    expect(refusal(await act(carol, 'south', 'approve'))).toEqual({
      status: 409,
      code: 'concession-required',
    });
  });

  it('two confirmations racing: one wins, the other is refused (rollout-changed or nothing-to-confirm)', async () => {
    const [a, b, c] = await Promise.all(
      ['ann', 'ben', 'cat'].map((personId) => tokenFor({ role: 'admin', personId, label: personId })),
    );
    await act(a as string, 'north', 'approve');
    const answers = await Promise.all([
      act(b as string, 'north', 'confirm'),
      act(c as string, 'north', 'confirm'),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(['rollout-changed', 'nothing-to-confirm']).toContain(
      answers.find((r) => r.status === 409)?.body.error.code,
    );
    const shown = await call(cloud, 'GET', `/v1/models/${net.acmeModel.modelId}/rollouts?regionId=north`, {
      token: cloud.adminToken,
    });
    expect(shown.body.rollouts[0].events.filter((e: Loose) => e.action === 'confirm-approval')).toHaveLength(
      1,
    );
  });

  it('an insider moving a rollout, editing a reason or naming a person by SQL is named by audit verify: differs-from-chain', async () => {
    const ann = await tokenFor({ role: 'admin', personId: 'ann', label: 'ann' });
    await act(ann, 'north', 'approve', { reason: 'the original reason' });
    expect(await verifyAuditData(cloud.dir)).toMatchObject({ ok: true });
    await sql("UPDATE rollouts SET state = 'deployed' WHERE region_id = 'north'");
    await sql("UPDATE rollout_events SET reason = 'a better reason' WHERE action = 'approve'");
    await sql("UPDATE api_tokens SET person_id = 'someone-else' WHERE person_id = 'ann'");
    const verified = await verifyAuditData(cloud.dir);
    expect(verified.ok).toBe(false);
    const found = verified.disagreements.map((d) => `${d.kind}/${d.code}/${d.problem.split(': ').at(-1)}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'rollout/differs-from-chain/its state deployed is not where its recorded events lead',
        'rollout-event/differs-from-chain/reasonSha256',
        'token/differs-from-chain/person',
      ]),
    );
  });
});
