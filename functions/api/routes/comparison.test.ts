import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drainReportBatch } from '../../ingest/embedded.ts';
import {
  call,
  type Loose,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../../test-fixtures.ts';

describe('GET /v1/campaigns/:id/comparison', () => {
  let cloud: TestCloud;
  let net: Awaited<ReturnType<typeof seedNetwork>>;
  beforeEach(async () => {
    cloud = await openTestCloud();
    net = await seedNetwork(cloud);
  });
  afterEach(() => cloud.close());

  const compare = (query = '') =>
    call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison${query}`, {
      token: cloud.adminToken,
    });
  const store = async (siteId: 'site-a' | 'site-c', modelId: string, sha256: string, vendor: string) => {
    const signer = siteId === 'site-a' ? net.siteA : net.siteC;
    const report = siteReport({
      campaignId: net.campaign.campaignId,
      jobId: net.jobFor(modelId, siteId),
      siteId,
      model: { vendor, name: vendor === 'acme' ? 'chest-xray' : 'lung', version: '1.0.0', sha256 },
    });
    const sent = await call(cloud, 'POST', '/v1/reports', {
      token: signer.token,
      json: signEnvelope(signer, report),
    });
    expect(sent.status).toBe(202);
    await drainReportBatch(cloud.deps);
  };
  const acme = () => store('site-a', net.acmeModel.modelId, net.acmeModel.sha256, 'acme');
  const globex = () => store('site-a', net.globexModel.modelId, net.globexModel.sha256, 'globex');
  const sitesOf = (body: Loose) => body.models.map((m: Loose) => m.sites.length);

  it('a report stored after a comparison shows in the next one (the kept comparison is rebuilt)', async () => {
    await acme();
    expect(sitesOf((await compare()).body)).toEqual([1, 0]);
    expect(sitesOf((await compare()).body)).toEqual([1, 0]);
    await globex();
    const after = await compare();
    expect(sitesOf(after.body)).toEqual([1, 1]);
    expect(after.body.contrasts).toHaveLength(1);
  });

  it('contrasts: all pairs by default, the named pairs when asked, none for a pair of unknown models', async () => {
    await acme();
    await globex();
    const { acmeModel: a, globexModel: g } = net;
    expect((await compare()).body.contrasts.map((c: Loose) => [c.modelA, c.modelB])).toEqual([
      [a.modelId, g.modelId],
    ]);
    const reversed = await compare(`?contrasts=${g.modelId}:${a.modelId}`);
    expect(reversed.body.contrasts.map((c: Loose) => [c.modelA, c.modelB])).toEqual([[g.modelId, a.modelId]]);
    expect(reversed.body.contrasts[0].estimate).toBeCloseTo(
      -(await compare()).body.contrasts[0].estimate,
      12,
    );
    // The two models are different products (vendor/name): no adjacent versions.
    expect((await compare('?contrasts=adjacent')).body.contrasts).toBeUndefined();
    expect((await compare('?contrasts=mdl_nobody:mdl_none')).body.contrasts).toBeUndefined();
  });

  it('a contrasts parameter that is not all, adjacent or A:B pairs → 400 invalid-request', async () => {
    const r = await compare('?contrasts=a:b:c');
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 400, code: 'invalid-request' });
  });
});
