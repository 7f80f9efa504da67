import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parameterSha256 } from '../functions/audit/hashes.ts';
import { checkCriteria } from '../functions/criteria/check-criteria.ts';
import { planCriteria } from '../functions/criteria/plan.ts';
import { criteriaTemplate, TEMPLATE_NAMES } from '../functions/criteria/templates.ts';
import { call, openTestCloud, seedNetwork, type TestCloud } from '../functions/test-fixtures.ts';
import { Criteria } from '../schemas/criteria.ts';
import { minSampleForLowerBound } from '../stats/sample-size.ts';
import { runCairn } from './support/cli-runner.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let server: ReturnType<typeof serve>;
let url: string;
let dir: string;
beforeAll(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  server = await new Promise((resolve) => {
    const s = serve({ fetch: cloud.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  dir = mkdtempSync(join(tmpdir(), 'cairn-criteria-'));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
const lines = (text: string) => text.trim().split('\n');

describe('cairn criteria template and validate', () => {
  it('each template is valid criteria; validate prints its sha256', async () => {
    for (const name of TEMPLATE_NAMES)
      expect(checkCriteria(criteriaTemplate(name, 'chest-xray@1.0.0')).ok).toBe(true);
    const t = await runCairn(['criteria', 'template', 'triage']);
    expect(t.status, t.stderr).toBe(0);
    const triage = Criteria.parse(JSON.parse(t.stdout));
    const v = await runCairn(['criteria', 'validate', file('triage.json', triage), '--output', 'json']);
    expect(v.status, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toEqual({ ok: true, rules: 4, sha256: parameterSha256(triage) });
    expect(triage.rules).toContainEqual({
      metric: 'sensitivity',
      scope: 'region',
      bound: 'ciLow',
      atLeast: 0.8,
    });
    expect(triage.rules).toContainEqual({
      metric: 'specificity',
      scope: 'overall',
      bound: 'ciLow',
      atLeast: 0.8,
    });
  });

  it('screening without --versus, and a bad file: one clear line per problem, exit 1', async () => {
    const screening = await runCairn(['criteria', 'template', 'screening']);
    expect(screening.status).toBe(1);
    expect(lines(screening.stderr)).toEqual([expect.stringMatching(/^cairn: .*--versus/)]);
    const bad = file('bad.json', {
      schema: 'cairn.criteria/v1',
      rules: [
        { metric: 'auc', scope: 'region', bound: 'ciLow', atLeast: 2 },
        { metric: 'auc', versus: 'no-version', margin: 0.05 },
        { scope: 'overall' },
      ],
    });
    const v = await runCairn(['criteria', 'validate', bad]);
    expect(v.status).toBe(1);
    expect(lines(v.stderr)).toEqual([
      `cairn: criteria ${bad}: rules[0].atLeast: Too big: expected number to be <=1`,
      `cairn: criteria ${bad}: rules[1].versus: a model as name@version, e.g. chest-xray@1.0.0`,
      `cairn: criteria ${bad}: rules[2]: a minimum names at least one of minSites, minCases, minPositives, minNegatives, minClassShare`,
    ]);
    const notJson = await runCairn(['criteria', 'validate', file('nojson.json', '{')]);
    expect(lines(notJson.stderr)).toEqual([expect.stringMatching(/^cairn: criteria .*: not valid JSON$/)]);
  });

  it('campaign create --criteria F attaches them (not post hoc), criteria attach adds them POST HOC once; a bad file creates nothing', async () => {
    const triage = file('triage-c.json', criteriaTemplate('triage'));
    const args = [
      'campaign',
      'create',
      '--name',
      'triage',
      '--models',
      net.acmeModel.modelId,
      '--sites',
      'site-a',
    ];
    const auth = ['--cloud', url, '--token', cloud.adminToken];
    const created = await runCairn([...args, '--criteria', triage, '--output', 'json', ...auth]);
    expect(created.status, created.stderr).toBe(0);
    const { campaignId, criteriaSha256 } = JSON.parse(created.stdout);
    const shown = await call(cloud, 'GET', `/v1/campaigns/${campaignId}`, { token: cloud.adminToken });
    expect(shown.body.criteria).toMatchObject({ sha256: criteriaSha256, postHoc: false });
    const before = (await call(cloud, 'GET', '/v1/campaigns', { token: cloud.adminToken })).body.campaigns
      .length;
    const refused = await runCairn([...args, '--criteria', file('bad2.json', { rules: [] }), ...auth]);
    expect(refused.status).toBe(1);
    expect(
      (await call(cloud, 'GET', '/v1/campaigns', { token: cloud.adminToken })).body.campaigns,
    ).toHaveLength(before);
  });

  it('criteria plan prints what each rule needs per scope and site; a flag out of range is one line', async () => {
    const triage = file('triage-p.json', criteriaTemplate('triage'));
    const flags = ['--criteria', triage, '--expected-sensitivity', '0.9', '--expected-specificity', '0.92'];
    const plan = await runCairn([
      'criteria',
      'plan',
      ...flags,
      '--prevalence',
      '0.2',
      '--sites',
      '4',
      '--output',
      'json',
    ]);
    expect(plan.status, plan.stderr).toBe(0);
    const out = JSON.parse(plan.stdout);
    expect(out.rules).toEqual(planCriteria(criteriaTemplate('triage'), { ...out.assumptions }));
    expect(out.rules[0]).toMatchObject({
      scope: 'region',
      positives: minSampleForLowerBound(0.9, 0.8, 'wilson'),
    });
    const bad = await runCairn(['criteria', 'plan', ...flags, '--prevalence', '1.5']);
    expect(bad.status).toBe(1);
    expect(lines(bad.stderr)).toEqual([
      'cairn: criteria plan: --prevalence must be a number between 0 and 1',
    ]);
  });
});
