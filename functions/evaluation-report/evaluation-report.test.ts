import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import { EvaluationReport } from '../../schemas/evaluation-report.ts';
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

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
const sent: Record<string, string> = {};

beforeAll(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  for (const [signer, tp] of [
    [net.siteA, 16],
    [net.siteC, 12],
  ] as const) {
    const report = siteReport(net.acmeIds(signer.siteId), { tp, auc: tp === 16 ? 0.9 : 0.8 });
    sent[report.reportId] = createHash('sha256').update(canonicalJson(report)).digest('hex');
    const r = await call(cloud, 'POST', '/v1/reports', {
      token: signer.token,
      json: signEnvelope(signer, report),
    });
    expect(r.status).toBe(202);
  }
  await drainReportBatch(cloud.deps);
});
afterAll(() => cloud.close());

const path = (format: string, extra = '') =>
  `/v1/models/${net.acmeModel.modelId}/evaluation-report?format=${format}${extra}`;

async function raw(format: string, token = cloud.adminToken, extra = '') {
  const res = await cloud.app.request(path(format, extra), { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

describe('GET /v1/models/:id/evaluation-report', () => {
  it('is the comparison’s own numbers, the stored reports’ signed hashes and the device identity, as closed JSON', async () => {
    const { status, text } = await raw('json');
    expect(status).toBe(200);
    const report = EvaluationReport.parse(JSON.parse(text));
    const comparison = (
      await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison`, {
        token: cloud.adminToken,
      })
    ).body as Loose;
    const entry = comparison.models.find((m: Loose) => m.modelId === net.acmeModel.modelId);
    expect(report.pooled.overall).toEqual(entry.overall);
    expect(report.sites.map((s) => [s.site, s.auc, s.sensitivity])).toEqual(
      entry.sites.map((s: Loose) => [s.site, s.auc, s.sensitivity]),
    );
    expect(Object.fromEntries(report.inputs.reports.map((r) => [r.reportId, r.sha256]))).toEqual(sent);
    expect(report.device).toMatchObject({
      vendor: 'acme',
      sha256: net.acmeModel.sha256,
      threshold: 0.5,
      modality: ['CR', 'DX'],
    });
    expect(report.sites.map((s) => s.site)).toEqual(['site-a', 'site-c']);
    // The pooled ROC runs from (0,0) to (1,1) without stepping back.
    const pts = report.roc.points;
    expect(pts[0]).toEqual([0, 0]);
    expect(pts[pts.length - 1]).toEqual([1, 1]);
    for (let i = 1; i < pts.length; i++)
      expect(pts[i]![0] >= pts[i - 1]![0] && pts[i]![1] >= pts[i - 1]![1]).toBe(true);
    expect(report.checklist.some((c) => c.guideline === 'TRIPOD+AI' && c.status === 'not-derivable')).toBe(
      true,
    );
  });

  it('gives the same bytes for the same stored data, in JSON and in HTML, even as the clock moves', async () => {
    const first = [await raw('json'), await raw('html')];
    cloud.deps.clock.advance(3 * 24 * 3600_000);
    const again = [await raw('json'), await raw('html')];
    expect(again.map((r) => r.text)).toEqual(first.map((r) => r.text));
    expect(first[1]!.type).toMatch(/^text\/html/);
  });

  it('renders every section, the SVG plots and the hashes, and embeds exactly the JSON report', async () => {
    const html = (await raw('html')).text;
    for (const id of [
      'verdict',
      'device',
      'design',
      'sites',
      'criteria',
      'results',
      'calibration',
      'subgroups',
      'comparison',
      'governance',
      'privacy',
      'inputs',
      'checklist',
    ])
      expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain('aria-label="Forest plot of AUC by site"');
    expect(html).toContain('aria-label="Pooled ROC curve"');
    expect(html).toContain(net.acmeModel.sha256);
    for (const sha of Object.values(sent)) expect(html).toContain(sha);
    const embedded = /<script type="application\/json" id="cairn-evaluation-report">(.*?)<\/script>/s.exec(
      html,
    )![1]!;
    expect(JSON.parse(embedded)).toEqual(JSON.parse((await raw('json')).text));
  });

  it('a region narrows it to that region’s sites and pool; a coordinator outside it and another vendor get 404', async () => {
    const south = EvaluationReport.parse(
      JSON.parse((await raw('json', cloud.adminToken, '&region=south')).text),
    );
    expect(south.sites.map((s) => s.site)).toEqual(['site-c']);
    expect(south.region).toBe('south');
    expect((await raw('json', net.northToken, '&region=south')).status).toBe(404);
    expect((await raw('json', net.globexToken)).status).toBe(404);
    const own = await raw('json', net.acmeToken);
    expect(own.status).toBe(200);
  });
});
