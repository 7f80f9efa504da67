import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Comparison } from '../schemas/comparison.ts';
import { Job } from '../schemas/job.ts';
import { drainReportBatch } from './ingest/embedded.ts';
import {
  call,
  fakeOnnx,
  modelUploadForm,
  openTestCloud,
  signEnvelope,
  siteKeyPair,
  siteReport,
  type TestCloud,
  testManifest,
} from './test-fixtures.ts';

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await openTestCloud();
});
afterEach(() => cloud.close());

describe('the cloud API, end to end through app.request', () => {
  it('takes a network from nothing to a comparison', async () => {
    const admin = cloud.adminToken;
    const health = await call(cloud, 'GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ ok: true, version: expect.any(String) });

    expect(
      (await call(cloud, 'POST', '/v1/regions', { token: admin, json: { id: 'north', name: 'North' } }))
        .status,
    ).toBe(201);
    expect(
      (await call(cloud, 'POST', '/v1/regions', { token: admin, json: { id: 'south', name: 'South' } }))
        .status,
    ).toBe(201);
    for (const [id, regionId] of [
      ['site-a', 'north'],
      ['site-b', 'north'],
      ['site-c', 'south'],
    ] as const) {
      const r = await call(cloud, 'POST', '/v1/sites', { token: admin, json: { id, regionId, name: id } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ id, regionId });
    }
    expect((await call(cloud, 'GET', '/v1/sites', { token: admin })).body.sites).toHaveLength(3);
    expect(
      (await call(cloud, 'POST', '/v1/vendors', { token: admin, json: { id: 'acme', name: 'Acme' } })).status,
    ).toBe(201);

    const vendorTok = await call(cloud, 'POST', '/v1/tokens', {
      token: admin,
      json: { role: 'vendor', vendorId: 'acme', label: 'acme ci', ttlHours: 24 },
    });
    expect(vendorTok.status).toBe(201);
    expect(vendorTok.body).toMatchObject({ role: 'vendor', token: expect.stringMatching(/^cairn_/) });
    expect(vendorTok.body.expiresAt).toBe('2026-11-28T10:00:00.000Z');
    const coordTok = await call(cloud, 'POST', '/v1/tokens', {
      token: admin,
      json: { role: 'coordinator', label: 'national' },
    });
    expect(coordTok.body.expiresAt).toBeNull();

    // The vendor submits a model without a sha256; the cloud computes and pins it.
    const onnx = fakeOnnx('acme-1');
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    const up = await call(cloud, 'POST', '/v1/models', {
      token: vendorTok.body.token,
      body: modelUploadForm(testManifest(), onnx),
    });
    expect(up.status).toBe(201);
    expect(up.body.sha256).toBe(sha256);
    expect(up.body.manifest.sha256).toBe(sha256);
    expect(await cloud.deps.blobs.exists(`models/${sha256}.onnx`)).toBe(true);
    const modelId: string = up.body.modelId;

    const camp = await call(cloud, 'POST', '/v1/campaigns', {
      token: coordTok.body.token,
      json: {
        name: 'PTX',
        modelIds: [modelId],
        siteIds: ['site-a', 'site-b', 'site-c'],
        bins: 10,
        minCell: 3,
      },
    });
    expect(camp.status).toBe(201);
    expect(camp.body.jobs).toHaveLength(3);
    const campaignId: string = camp.body.campaignId;

    // Enrollment: a one-time token per site, the agent's public key, a site token back.
    const enroll = async (siteId: string) => {
      const et = await call(cloud, 'POST', `/v1/sites/${siteId}/enrollment-tokens`, {
        token: admin,
        json: {},
      });
      expect(et.status).toBe(201);
      const keys = siteKeyPair();
      const r = await call(cloud, 'POST', '/v1/enroll', {
        json: { token: et.body.token, publicKey: keys.publicKeyRaw, agentVersion: '0.1.0' },
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        siteId,
        keyId: expect.any(String),
        apiToken: expect.stringMatching(/^cairn_/),
      });
      return {
        siteId,
        keyId: r.body.keyId as string,
        privateKey: keys.privateKey,
        token: r.body.apiToken as string,
        regionId: r.body.regionId,
      };
    };
    const sites = [await enroll('site-a'), await enroll('site-b'), await enroll('site-c')];
    expect(sites.map((s) => s.regionId)).toEqual(['north', 'north', 'south']);

    for (const [i, site] of sites.entries()) {
      const jobs = await call(cloud, 'GET', '/v1/jobs', { token: site.token });
      expect(jobs.status).toBe(200);
      expect(jobs.body.jobs).toHaveLength(1);
      const job = Job.parse(jobs.body.jobs[0]);
      expect(job.binEdges).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
      expect(job.model.sha256).toBe(sha256);
      expect(job.model.downloadUrl).toBe(`/v1/models/${modelId}/onnx`);

      const dl = await cloud.app.request(job.model.downloadUrl, {
        headers: { authorization: `Bearer ${site.token}` },
      });
      expect(dl.status).toBe(200);
      expect(dl.headers.get('content-type')).toBe('application/octet-stream');
      expect(new Uint8Array(await dl.arrayBuffer())).toEqual(onnx);

      const report = siteReport(
        {
          campaignId,
          jobId: job.jobId,
          siteId: site.siteId,
          model: { vendor: 'acme', name: 'chest-xray', version: '1.0.0', sha256 },
        },
        { tp: 14 + i, tn: 15 + i, auc: 0.8 + i * 0.04, edges: job.binEdges },
      );
      const sent = await call(cloud, 'POST', '/v1/reports', {
        token: site.token,
        json: signEnvelope(site, report),
      });
      expect(sent.status).toBe(202);
      expect(sent.body).toEqual({ reportId: report.reportId, status: 'queued' });
      expect(
        (await call(cloud, 'GET', `/v1/reports/${report.reportId}`, { token: site.token })).body.status,
      ).toBe('queued');

      const outcomes = await drainReportBatch(cloud.deps);
      expect(outcomes).toEqual([{ outcome: 'stored', reportId: report.reportId }]);
      expect(
        (await call(cloud, 'GET', `/v1/reports/${report.reportId}`, { token: site.token })).body,
      ).toEqual({
        reportId: report.reportId,
        status: 'accepted',
      });
      expect((await call(cloud, 'GET', '/v1/jobs', { token: site.token })).body.jobs).toEqual([]);
    }

    const detail = await call(cloud, 'GET', `/v1/campaigns/${campaignId}`, { token: admin });
    expect(detail.body.jobs.map((j: { status: string }) => j.status)).toEqual(['done', 'done', 'done']);

    const cmp = await call(cloud, 'GET', `/v1/campaigns/${campaignId}/comparison`, { token: admin });
    expect(cmp.status).toBe(200);
    const comparison = Comparison.parse(cmp.body);
    expect(comparison.campaignId).toBe(campaignId);
    const [m] = comparison.models;
    expect(m?.sites.map((s) => [s.site, s.region])).toEqual([
      ['site-a', 'north'],
      ['site-b', 'north'],
      ['site-c', 'south'],
    ]);
    expect(m?.regions.map((r) => [r.region, r.auc.k])).toEqual([
      ['north', 2],
      ['south', 1],
    ]);
    expect(m?.overall.auc.k).toBe(3);
    expect(m?.overall.auc.estimate).toBeGreaterThan(0.8);
    expect(m?.overall.sensitivity.k).toBe(3);

    // The operational log names routes by pattern and carries no ids, bodies or tokens.
    const logText = JSON.stringify(cloud.deps.log.entries);
    expect(logText).toContain('/v1/models/:id/onnx');
    expect(logText).not.toContain(modelId);
    expect(logText).not.toContain('cairn_');
    expect(logText).not.toContain(sites[0]!.keyId);
  });
});
