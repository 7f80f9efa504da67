import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drainReportBatch } from '../../functions/ingest/embedded.ts';
import {
  call,
  type Loose,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../../functions/test-fixtures.ts';

/**
 * The comparison is kept once built (functions/comparison/comparison-cache.ts) and takes the pairs to contrast
 * from the caller (`?contrasts=`): neither may show a caller more than its scope, nor take the cloud down.
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  // Both models at site-a (north), acme's at site-c (south).
  const store = async (
    signer: typeof net.siteA,
    model: { modelId: string; sha256: string },
    vendor: string,
  ) => {
    const report = siteReport({
      campaignId: net.campaign.campaignId,
      jobId: net.jobFor(model.modelId, signer.siteId),
      siteId: signer.siteId,
      model: {
        vendor,
        name: vendor === 'acme' ? 'chest-xray' : 'lung',
        version: '1.0.0',
        sha256: model.sha256,
      },
    });
    const sent = await call(cloud, 'POST', '/v1/reports', {
      token: signer.token,
      json: signEnvelope(signer, report),
    });
    expect(sent.status).toBe(202);
  };
  await store(net.siteA, net.acmeModel, 'acme');
  await store(net.siteA, net.globexModel, 'globex');
  await store(net.siteC, net.acmeModel, 'acme');
  await drainReportBatch(cloud.deps);
});
afterEach(() => cloud.close());

const compare = (token: string, query = '') =>
  call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison${query}`, { token });
const sites = (body: Loose) =>
  body.models.flatMap((m: Loose) => m.sites.map((s: Loose) => `${m.vendor}/${s.site}`));

describe('hostile: the comparison across callers', () => {
  it('kept-comparison leak: what the admin was shown is not what a regional coordinator or a vendor gets (scope is in the key)', async () => {
    expect(sites((await compare(cloud.adminToken)).body)).toEqual([
      'acme/site-a',
      'acme/site-c',
      'globex/site-a',
    ]);
    expect(sites((await compare(net.northToken)).body)).toEqual(['acme/site-a', 'globex/site-a']);
    const vendor = await compare(net.acmeToken);
    expect(sites(vendor.body)).toEqual(['acme/site-a', 'acme/site-c']);
    expect(vendor.body.contrasts).toBeUndefined();
  });

  it("contrast probing: a vendor naming another vendor's model in ?contrasts gets no contrast and nothing of it", async () => {
    const r = await compare(net.acmeToken, `?contrasts=${net.acmeModel.modelId}:${net.globexModel.modelId}`);
    expect(r.status).toBe(200);
    expect(r.body.contrasts).toBeUndefined();
    expect(JSON.stringify(r.body)).not.toContain(net.globexModel.modelId);
  });

  it('oversized or malformed ?contrasts → 400 invalid-request, and the cloud answers the next call', async () => {
    const pair = `${net.acmeModel.modelId}:${net.globexModel.modelId}`;
    for (const q of [Array(400).fill(pair).join(','), 'a:b:c', ':', `${pair},`]) {
      const r = await compare(cloud.adminToken, `?contrasts=${encodeURIComponent(q)}`);
      expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 400, code: 'invalid-request' });
    }
    expect((await compare(cloud.adminToken)).status).toBe(200);
  });
});
