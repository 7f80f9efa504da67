import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditData } from '../../functions/audit/verify-data.ts';
import { call, openTestCloud, refusal, seedNetwork, type TestCloud } from '../../functions/test-fixtures.ts';

/**
 * Acceptance criteria decide a model's fate, so they are worth moving after the data arrive: each attack on
 * them is refused with its reason code, or (around the API) shows in `cairn audit verify`.
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const GOAL = (atLeast: number) => ({
  schema: 'cairn.criteria/v1',
  rules: [{ metric: 'sensitivity', scope: 'region', bound: 'ciLow', atLeast }],
});
const attach = (criteria: unknown, token = cloud.adminToken) =>
  call(cloud, 'POST', `/v1/campaigns/${net.campaign.campaignId}/criteria`, { token, json: { criteria } });

describe('hostile criteria', () => {
  it('lowering the goal once the results are in: 409 criteria-frozen, the first criteria stay', async () => {
    expect((await attach(GOAL(0.8))).status).toBe(201);
    expect(refusal(await attach(GOAL(0.5)))).toEqual({ status: 409, code: 'criteria-frozen' });
    const shown = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}`, {
      token: cloud.adminToken,
    });
    expect(shown.body.criteria.rules[0].atLeast).toBe(0.8);
  });

  it('a vendor setting the criteria its own model is judged by: 403 forbidden', async () => {
    expect(refusal(await attach(GOAL(0.1), net.acmeToken))).toEqual({ status: 403, code: 'forbidden' });
  });

  it('a coordinator of one region setting criteria for a campaign across regions: 403 forbidden', async () => {
    expect(refusal(await attach(GOAL(0.1), net.northToken))).toEqual({ status: 403, code: 'forbidden' });
  });

  it('post hoc criteria passed off as pre-registered by SQL: audit verify names the campaign', async () => {
    expect((await attach(GOAL(0.8))).status).toBe(201);
    await cloud.deps.db.$client.execute({
      sql: 'UPDATE campaigns SET criteria_post_hoc = 0 WHERE id = ?',
      args: [net.campaign.campaignId],
    });
    const result = await verifyAuditData(cloud.dir);
    expect(result.ok).toBe(false);
    expect(result.disagreements).toContainEqual(
      expect.objectContaining({ kind: 'campaign', id: net.campaign.campaignId, code: 'differs-from-chain' }),
    );
  });

  it('oversized or smuggling criteria: 400 invalid-criteria, the invented field name not echoed', async () => {
    const many = {
      schema: 'cairn.criteria/v1',
      rules: Array.from({ length: 101 }, () => GOAL(0.8).rules[0]),
    };
    expect(refusal(await attach(many))).toEqual({ status: 400, code: 'invalid-criteria' });
    const smuggled = { ...GOAL(0.8), rules: [{ ...GOAL(0.8).rules[0], patientSmith1952: 'x' }] };
    const r = await attach(smuggled);
    expect(refusal(r)).toEqual({ status: 400, code: 'invalid-criteria' });
    expect(JSON.stringify(r.body)).not.toContain('Smith');
  });
});
