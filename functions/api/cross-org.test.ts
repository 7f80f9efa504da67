import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Loose } from '../test-fixtures.ts';
import { describeAttacks, seedCrossOrg, w } from './cross-org.test-util.ts';
import { ATTACKS } from './cross-org-attacks.test-util.ts';

/**
 * Every route of the API, called with the token of *another* organisation than the object's owner: vendor B
 * against vendor A's models, campaigns and comparisons; site B against site A's reports, jobs, models and
 * keys; the coordinator of one region against another region's sites, keys, reports and campaigns. Each is
 * refused (403/404) or answered with only the caller's own objects, and no body names anything of the other
 * organisation.
 */

beforeAll(async () => {
  await seedCrossOrg();
});
afterAll(() => w.cloud.close());

describe('another organisation’s token', () => {
  describeAttacks(ATTACKS);

  it('covers every route of the API (the public ones are listed with their reason)', () => {
    const PUBLIC = new Set([
      'GET /v1/health', // says only that the API answers, and its version
      'POST /v1/enroll', // the one-time token is the credential and names its site (routes/enrollment.test.ts)
    ]);
    const routes = new Set(
      (w.cloud.app.routes as { method: string; path: string }[])
        .filter((r) => r.method !== 'ALL' && r.path.startsWith('/v1/'))
        .map((r) => `${r.method} ${r.path}`),
    );
    const covered = new Set(ATTACKS.flatMap((a) => a.cases.map((c) => c.route)));
    const missing = [...routes].filter((r) => !covered.has(r) && !PUBLIC.has(r));
    expect(missing).toEqual([]);
  });

  it('each regional coordinator’s comparison pools only its own sites', async () => {
    const r = await call(w.cloud, 'GET', `/v1/campaigns/${w.net.campaign.campaignId}/comparison`, {
      token: w.net.northToken,
    });
    const acme = r.body.models.find((m: Loose) => m.vendor === 'acme');
    expect(acme.sites.map((s: Loose) => s.site)).toEqual(['site-a']);
    const south = await call(w.cloud, 'GET', `/v1/campaigns/${w.net.campaign.campaignId}/comparison`, {
      token: w.southToken,
    });
    const acmeSouth = south.body.models.find((m: Loose) => m.vendor === 'acme');
    expect(acmeSouth.sites.map((s: Loose) => s.site)).toEqual(['site-c']);
    expect(JSON.stringify(south.body)).not.toContain('site-a');
  });
});
