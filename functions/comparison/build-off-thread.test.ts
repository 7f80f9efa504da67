import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import { siteReport } from '../test-fixtures.ts';
import { createComparisonBuilder } from './build-off-thread.ts';
import { type ComparisonInput, comparisonText } from './comparison-input.ts';

const models = ['1.0.0', '1.1.0'].map((version, i) => ({
  modelId: `mdl_${i}`,
  vendor: 'acme',
  name: 'chest-xray',
  version,
  sha256: String(i).repeat(64),
}));
const input: ComparisonInput = {
  campaignId: 'cmp_1',
  generatedAt: new Date('2026-11-27T10:00:00Z'),
  models,
  rows: ['site-a', 'site-b', 'site-c', 'site-d'].flatMap((siteId, s) =>
    models.map((m, v) => ({
      reportId: `00000000-0000-4000-8000-00000000000${s * 2 + v}`,
      modelId: m.modelId,
      siteId,
      regionId: s < 2 ? 'north' : 'south',
      report: canonicalJson(
        siteReport(
          {
            campaignId: 'cmp_1',
            jobId: `job_${s}_${v}`,
            siteId,
            model: { ...m, modelId: undefined } as never,
          },
          { auc: 0.8 + 0.02 * s - 0.01 * v, tp: 14 + s, tn: 15 + v },
        ),
      ),
      voidedAt: null,
      voidReason: null,
    })),
  ),
  campaign: { binEdges: Array.from({ length: 21 }, (_, i) => i / 20), minCell: 3 },
  contrasts: 'all',
};

describe('createComparisonBuilder', () => {
  it('builds on the worker thread exactly what is built in-process', async () => {
    const builder = createComparisonBuilder();
    const [a, b] = await Promise.all([
      builder.build(input),
      builder.build({ ...input, contrasts: 'adjacent' }),
    ]);
    expect(builder.onWorker()).toBe(true);
    expect(a).toBe(comparisonText(input));
    expect(b).toBe(comparisonText({ ...input, contrasts: 'adjacent' }));
    expect(JSON.parse(a).contrasts).toHaveLength(1);
    expect(JSON.parse(a).models[0].sites.map((s: { status: string }) => s.status)).toEqual(
      Array(4).fill('pooled'),
    );
  });

  it('takes the rows a page at a time and builds what the whole input builds, beside one dropped half-way', async () => {
    const builder = createComparisonBuilder();
    const { rows, ...request } = input;
    const dropped = builder.open(request);
    dropped.add(input.rows.slice(0, 3));
    dropped.drop();
    const stream = builder.open(request);
    for (let i = 0; i < rows.length; i += 3) stream.add(rows.slice(i, i + 3));
    expect(await stream.finish()).toBe(comparisonText(input));
    expect(builder.onWorker()).toBe(true);
  });
});
