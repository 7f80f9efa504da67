import { describe, expect, it } from 'vitest';
import { Comparison } from '../../schemas/comparison.ts';
import { poolAuc, poolProportion } from '../../stats/meta.ts';
import { siteReport } from '../test-fixtures.ts';
import { buildComparison, type ComparedReport } from './build-comparison.ts';

const model = {
  modelId: 'mdl_1',
  vendor: 'acme',
  name: 'chest-xray',
  version: '1.0.0',
  sha256: 'a'.repeat(64),
};
const other = { ...model, modelId: 'mdl_2', version: '2.0.0' };

function row(
  siteId: string,
  regionId: string,
  opts: { tp?: number; auc?: number; modelId?: string } = {},
): ComparedReport {
  const report = siteReport(
    {
      campaignId: 'cmp_1',
      jobId: `job_${siteId}`,
      siteId,
      model: { vendor: 'acme', name: 'chest-xray', version: '1.0.0', sha256: model.sha256 },
    },
    opts,
  );
  return { modelId: opts.modelId ?? model.modelId, siteId, regionId, report };
}

describe('buildComparison', () => {
  const reports = [
    row('site-c', 'south', { tp: 12, auc: 0.78 }),
    row('site-a', 'north', { tp: 16, auc: 0.88 }),
    row('site-b', 'north', { tp: 18, auc: 0.91 }),
    row('site-x', 'north', { modelId: 'mdl_elsewhere' }),
  ];
  const result = buildComparison({
    campaignId: 'cmp_1',
    generatedAt: new Date('2026-11-27T10:00:00Z'),
    models: [model, other],
    reports,
  });

  it('is a valid Comparison with one entry per model, sites sorted, regions grouped and sorted', () => {
    expect(Comparison.parse(result)).toEqual(result);
    expect(result.models.map((m) => m.modelId)).toEqual(['mdl_1', 'mdl_2']);
    const [m1, m2] = result.models;
    expect(m1?.sites.map((s) => `${s.region}/${s.site}`)).toEqual([
      'north/site-a',
      'north/site-b',
      'south/site-c',
    ]);
    expect(m1?.regions.map((r) => [r.region, r.auc.k])).toEqual([
      ['north', 2],
      ['south', 1],
    ]);
    expect(m2?.sites).toEqual([]);
    expect(m2?.overall.auc.k).toBe(0);
  });

  it('pools with stats/meta.ts over exactly the rows of each group', () => {
    const mine = reports.slice(0, 3).map((r) => r.report);
    const [m1] = result.models;
    expect(m1?.overall.auc).toEqual(poolAuc(mine.map((r) => ({ estimate: r.auc.estimate, se: r.auc.se }))));
    expect(m1?.overall.sensitivity).toEqual(
      poolProportion(
        mine.map((r) => ({ numerator: r.sensitivity.numerator, denominator: r.sensitivity.denominator })),
      ),
    );
    const north = mine.filter((r) => r.siteId !== 'site-c');
    expect(m1?.regions[0]?.specificity).toEqual(
      poolProportion(
        north.map((r) => ({ numerator: r.specificity.numerator, denominator: r.specificity.denominator })),
      ),
    );
  });

  it('leaves suppressed proportions out of the pool', () => {
    const suppressed = row('site-d', 'south');
    suppressed.report.sensitivity = {
      ...suppressed.report.sensitivity,
      estimate: null,
      ciLow: null,
      ciHigh: null,
      numerator: null,
      denominator: null,
      reason: 'suppressed',
    };
    const r = buildComparison({
      generatedAt: new Date(),
      models: [model],
      reports: [row('site-a', 'north'), suppressed],
    });
    expect(r.models[0]?.overall.sensitivity.k).toBe(1);
    expect(r.models[0]?.overall.auc.k).toBe(2);
    expect(r.campaignId).toBeUndefined();
  });
});
