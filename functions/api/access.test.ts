import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drainReportBatch } from '../ingest/embedded.ts';
import {
  call,
  openTestCloud,
  refusal,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../test-fixtures.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

describe('authentication', () => {
  it('missing, malformed, unknown, expired and revoked tokens → 401 with a code each', async () => {
    expect(refusal(await call(cloud, 'GET', '/v1/sites'))).toEqual({ status: 401, code: 'missing-token' });
    const basic = await call(cloud, 'GET', '/v1/sites', { headers: { authorization: 'Basic abc' } });
    expect(refusal(basic)).toEqual({ status: 401, code: 'missing-token' });
    expect(refusal(await call(cloud, 'GET', '/v1/sites', { token: 'cairn_notarealtoken12345678' }))).toEqual({
      status: 401,
      code: 'invalid-token',
    });

    const short = await call(cloud, 'POST', '/v1/tokens', {
      token: cloud.adminToken,
      json: { role: 'coordinator', label: 'short', ttlHours: 1 },
    });
    expect((await call(cloud, 'GET', '/v1/sites', { token: short.body.token })).status).toBe(200);
    cloud.deps.clock.advance(3_600_000);
    expect(refusal(await call(cloud, 'GET', '/v1/sites', { token: short.body.token }))).toEqual({
      status: 401,
      code: 'expired-token',
    });

    const revoke = await call(cloud, 'POST', `/v1/tokens/${(await tokenId(net.northToken)) ?? ''}/revoke`, {
      token: cloud.adminToken,
    });
    expect(revoke.status).toBe(200);
    expect(refusal(await call(cloud, 'GET', '/v1/sites', { token: net.northToken }))).toEqual({
      status: 401,
      code: 'revoked-token',
    });
  });

  it('a valid token of the wrong role → 403 forbidden', async () => {
    expect(refusal(await call(cloud, 'GET', '/v1/jobs', { token: cloud.adminToken }))).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(
      refusal(
        await call(cloud, 'POST', '/v1/vendors', { token: net.northToken, json: { id: 'x', name: 'X' } }),
      ),
    ).toEqual({ status: 403, code: 'forbidden' });
    expect((await call(cloud, 'GET', '/v1/sites', { token: net.acmeToken })).status).toBe(403);
    expect((await call(cloud, 'GET', '/v1/campaigns', { token: net.siteA.token })).status).toBe(403);
  });
});

async function tokenId(token: string): Promise<string | undefined> {
  const { hashSecret } = await import('../secrets.ts');
  const rows = await cloud.deps.db.query.apiTokens.findMany();
  return rows.find((r) => r.tokenHash === hashSecret(token))?.id;
}

describe('errors', () => {
  it('come out in one shape: validation, bad JSON, unknown routes, conflicts', async () => {
    const invalid = await call(cloud, 'POST', '/v1/regions', {
      token: cloud.adminToken,
      json: { id: 'Bad Id!', name: 'x' },
    });
    expect(refusal(invalid)).toEqual({ status: 400, code: 'invalid-request' });
    expect(invalid.body.error.message).toMatch(/^Invalid id: /);
    expect(invalid.body.error.message).not.toContain('Bad Id!');

    const extra = await call(cloud, 'POST', '/v1/regions', {
      token: cloud.adminToken,
      json: { id: 'west', name: 'West', 'Jane Doe': 1 },
    });
    expect(refusal(extra)).toEqual({ status: 400, code: 'invalid-request' });
    expect(JSON.stringify(extra.body)).not.toContain('Jane');

    const badJson = await call(cloud, 'POST', '/v1/regions', {
      token: cloud.adminToken,
      body: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect(refusal(badJson)).toEqual({ status: 400, code: 'invalid-json' });

    expect(refusal(await call(cloud, 'GET', '/v1/nope'))).toEqual({ status: 404, code: 'route-not-found' });
    expect(
      refusal(
        await call(cloud, 'POST', '/v1/regions', {
          token: cloud.adminToken,
          json: { id: 'north', name: 'N' },
        }),
      ),
    ).toEqual({ status: 409, code: 'region-exists' });
    expect(
      refusal(
        await call(cloud, 'POST', '/v1/tokens', {
          token: cloud.adminToken,
          json: { role: 'vendor', label: 'no vendor' },
        }),
      ),
    ).toEqual({ status: 400, code: 'invalid-request' });
  });
});

describe('coordinator scope', () => {
  it('a coordinator of one region sees and manages only that region', async () => {
    const tok = net.northToken;
    const sites = await call(cloud, 'GET', '/v1/sites', { token: tok });
    expect(sites.body.sites.map((s: { id: string }) => s.id)).toEqual(['site-a', 'site-b']);
    expect((await call(cloud, 'GET', '/v1/regions', { token: tok })).body.regions).toHaveLength(1);
    expect(
      refusal(
        await call(cloud, 'POST', '/v1/sites', {
          token: tok,
          json: { id: 'site-z', regionId: 'south', name: 'Z' },
        }),
      ),
    ).toEqual({ status: 404, code: 'region-not-found' });
    expect(
      refusal(await call(cloud, 'POST', '/v1/sites/site-c/enrollment-tokens', { token: tok, json: {} })),
    ).toEqual({ status: 404, code: 'site-not-found' });
    expect(
      refusal(
        await call(cloud, 'POST', '/v1/campaigns', {
          token: tok,
          json: { name: 'x', modelIds: [net.acmeModel.modelId], siteIds: ['site-a', 'site-c'] },
        }),
      ),
    ).toEqual({ status: 404, code: 'site-not-found' });
    expect(
      refusal(await call(cloud, 'POST', '/v1/regions', { token: tok, json: { id: 'east', name: 'East' } })),
    ).toEqual({ status: 403, code: 'forbidden' });

    const detail = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}`, { token: tok });
    expect(new Set(detail.body.jobs.map((j: { siteId: string }) => j.siteId))).toEqual(
      new Set(['site-a', 'site-b']),
    );
  });

  it('the comparison a regional coordinator gets pools only its own sites', async () => {
    for (const [signer, siteId] of [
      [net.siteA, 'site-a'],
      [net.siteC, 'site-c'],
    ] as const) {
      const r = await call(cloud, 'POST', '/v1/reports', {
        token: signer.token,
        json: signEnvelope(signer, siteReport(net.acmeIds(siteId))),
      });
      expect(r.status).toBe(202);
    }
    await drainReportBatch(cloud.deps);
    const path = `/v1/campaigns/${net.campaign.campaignId}/comparison`;
    const all = await call(cloud, 'GET', path, { token: cloud.adminToken });
    const acmeAll = all.body.models.find((m: { vendor: string }) => m.vendor === 'acme');
    expect(acmeAll.sites.map((s: { site: string }) => s.site)).toEqual(['site-a', 'site-c']);
    const north = await call(cloud, 'GET', path, { token: net.northToken });
    const acmeNorth = north.body.models.find((m: { vendor: string }) => m.vendor === 'acme');
    expect(acmeNorth.sites.map((s: { site: string }) => s.site)).toEqual(['site-a']);
    expect(acmeNorth.overall.auc.k).toBe(1);
  });
});

describe('vendor scope', () => {
  it('a vendor sees only its own models in campaigns and comparisons; other ids → 404', async () => {
    const path = `/v1/campaigns/${net.campaign.campaignId}/comparison`;
    const acme = await call(cloud, 'GET', path, { token: net.acmeToken });
    expect(acme.status).toBe(200);
    expect(acme.body.models.map((m: { vendor: string }) => m.vendor)).toEqual(['acme']);
    const list = await call(cloud, 'GET', '/v1/campaigns', { token: net.globexToken });
    expect(list.body.campaigns[0].modelIds).toEqual([net.globexModel.modelId]);
    const detail = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}`, {
      token: net.globexToken,
    });
    expect(new Set(detail.body.jobs.map((j: { modelId: string }) => j.modelId))).toEqual(
      new Set([net.globexModel.modelId]),
    );

    // A campaign without any of the vendor's models is invisible to it.
    const only = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: { name: 'acme only', modelIds: [net.acmeModel.modelId], siteIds: ['site-a'] },
    });
    for (const p of [
      `/v1/campaigns/${only.body.campaignId}`,
      `/v1/campaigns/${only.body.campaignId}/comparison`,
    ]) {
      expect(refusal(await call(cloud, 'GET', p, { token: net.globexToken }))).toEqual({
        status: 404,
        code: 'campaign-not-found',
      });
    }
    expect(
      refusal(await call(cloud, 'GET', '/v1/campaigns/cmp_unknown', { token: cloud.adminToken })),
    ).toEqual({
      status: 404,
      code: 'campaign-not-found',
    });
  });
});

describe('campaign creation', () => {
  it('takes explicit bin edges, refuses unordered ones, unknown models and sites', async () => {
    const ok = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: {
        name: 'edges',
        modelIds: [net.acmeModel.modelId],
        siteIds: ['site-b'],
        binEdges: [0, 0.25, 0.5, 1],
        minCell: 11,
      },
    });
    expect(ok.status).toBe(201);
    const detail = await call(cloud, 'GET', `/v1/campaigns/${ok.body.campaignId}`, {
      token: cloud.adminToken,
    });
    expect(detail.body).toMatchObject({ binEdges: [0, 0.25, 0.5, 1], minCell: 11 });

    const unordered = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: { name: 'x', modelIds: [net.acmeModel.modelId], siteIds: ['site-b'], binEdges: [0, 0.5, 0.5, 1] },
    });
    expect(refusal(unordered)).toEqual({ status: 400, code: 'invalid-request' });
    const unknownModel = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: { name: 'x', modelIds: ['mdl_nope'], siteIds: ['site-b'] },
    });
    expect(refusal(unknownModel)).toEqual({ status: 404, code: 'model-not-found' });
    expect(
      (
        await call(cloud, 'POST', '/v1/campaigns', {
          token: net.acmeToken,
          json: { name: 'x', modelIds: [], siteIds: [] },
        })
      ).status,
    ).toBe(403);
  });
});

describe('POST /v1/sites with an id that is taken', () => {
  it('answers the same whether the site is in a region the caller sees or not, naming nothing of it', async () => {
    // The north coordinator sees site-a (north) and not site-c (south).
    const create = (id: string) =>
      call(cloud, 'POST', '/v1/sites', { token: net.northToken, json: { id, regionId: 'north', name: 'X' } });
    const visible = await create('site-a');
    const hidden = await create('site-c');
    expect(visible.status).toBe(409);
    expect(hidden.body).toEqual(visible.body);
    expect(hidden.body.error.code).toBe('site-id-unavailable');
    expect(JSON.stringify(hidden.body)).not.toMatch(/exist|south|Hospital C/i);
    expect((await create('site-new')).status).toBe(201);
  });
});
