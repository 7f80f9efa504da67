import { describe, expect, it } from 'vitest';
import { Comparison } from '../../schemas/comparison.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { poolBivariate } from '../../stats/bivariate.ts';
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
  opts: { tp?: number; tn?: number; auc?: number; modelId?: string } = {},
): ComparedReport & { report: SiteReport } {
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

  it('adds the bivariate pool to groups of at least 4 sites, leaving suppressed confusion cells out', () => {
    const north = [
      row('site-a', 'north', { tp: 16, tn: 17 }),
      row('site-b', 'north', { tp: 18, tn: 12 }),
      row('site-d', 'north', { tp: 11, tn: 19 }),
      row('site-e', 'north', { tp: 14, tn: 15 }),
      row('site-f', 'north', { tp: 19, tn: 9 }),
    ];
    const south = [row('site-c', 'south', { tp: 12, tn: 18 }), row('site-g', 'south', { tp: 15, tn: 14 })];
    const hidden = north[4] as ReturnType<typeof row>;
    hidden.report.confusion = { ...hidden.report.confusion, fp: null, tn: null };
    const r = buildComparison({ generatedAt: new Date(), models: [model], reports: [...north, ...south] });
    expect(Comparison.parse(r)).toEqual(r);
    const m = r.models[0];
    const all = [...north, ...south].sort((a, b) => (a.siteId < b.siteId ? -1 : 1));
    expect(m?.overall.bivariate).toEqual(poolBivariate(all.map((x) => x.report.confusion)));
    expect(m?.overall.bivariate?.k).toBe(6);
    expect(m?.overall.bivariate?.sensitivity.estimate).toBeGreaterThan(0.5);
    const [n, so] = m?.regions ?? [];
    expect(n?.bivariate?.k).toBe(4);
    expect(n?.bivariate?.method).toBe('REML');
    expect(so).not.toHaveProperty('bivariate');
    // Fewer than 4 usable sites in a group of 4: present, all null, with the reason.
    const few = buildComparison({
      generatedAt: new Date(),
      models: [model],
      reports: [...south, hidden, row('site-h', 'north', { tp: 10 })],
    });
    expect(few.models[0]?.overall.bivariate?.k).toBe(3);
    expect(few.models[0]?.overall.bivariate?.sensitivity.estimate).toBeNull();
    expect(few.models[0]?.overall.bivariate?.reason).toMatch(/at least 4/);
  });

  it('lists withheld, invalid and voided reports with their reason and pools none of them', () => {
    const good = [row('site-a', 'north', { tp: 16 }), row('site-b', 'north', { tp: 12, tn: 14 })];
    const withheld = row('site-c', 'south');
    withheld.report = {
      ...withheld.report,
      cases: null,
      positives: null,
      withheld: { reason: 'insufficient-class-size', classes: ['positives'] },
      histogram: { ...withheld.report.histogram, positives: null },
    };
    const invalid: ComparedReport = { ...row('site-d', 'south'), report: null, invalid: 'absurd-value' };
    const voided: ComparedReport = {
      ...row('site-e', 'south', { tp: 3, auc: 0.2 }),
      voided: { reason: 'labels were shifted by one', at: new Date('2026-12-01T00:00:00Z') },
    };
    const all = buildComparison({
      generatedAt: new Date(),
      models: [model],
      reports: [...good, withheld, invalid, voided],
    });
    const alone = buildComparison({ generatedAt: new Date(), models: [model], reports: good });
    expect(Comparison.parse(all)).toEqual(all);
    const m = all.models[0];
    expect(m?.sites.map((s) => [s.site, s.status, s.reason])).toEqual([
      ['site-a', 'pooled', undefined],
      ['site-b', 'pooled', undefined],
      ['site-c', 'withheld', 'insufficient-class-size'],
      ['site-d', 'invalid', 'absurd-value'],
      ['site-e', 'voided', 'labels were shifted by one'],
    ]);
    expect(m?.sites[2]).toMatchObject({ cases: null, positives: null, negatives: 20 });
    expect(m?.sites[3]).toMatchObject({ cases: null, auc: null, sensitivity: null, excluded: {} });
    expect(m?.sites[4]?.voidedAt).toBe('2026-12-01T00:00:00.000Z');
    // Every pool is exactly the pool of the two good sites; the south region has nothing to pool.
    expect(m?.overall).toEqual(alone.models[0]?.overall);
    expect(m?.regions.find((r) => r.region === 'south')?.auc.k).toBe(0);
  });

  it('leaves withheld and voided reports out of the model contrasts', () => {
    const b = (siteId: string) => row(siteId, 'north', { modelId: other.modelId, auc: 0.7 });
    const a = [row('site-a', 'north'), row('site-b', 'north')];
    const voidedA: ComparedReport = {
      ...row('site-c', 'north', { auc: 0.99 }),
      voided: { reason: 'x y z', at: new Date() },
    };
    const r = buildComparison({
      generatedAt: new Date(),
      models: [model, other],
      reports: [...a, voidedA, b('site-a'), b('site-b'), b('site-c')],
    });
    expect(r.contrasts?.[0]?.k).toBe(2);
  });
});
