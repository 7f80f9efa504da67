import { describe, expect, it } from 'vitest';
import { SiteReport } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { delongAuc } from '../../stats/roc.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { buildSiteReport, type SiteReportInput } from './site-report.ts';

function input(
  outcomes: { score: number; label: 0 | 1 }[],
  over: Partial<SiteReportInput> = {},
): SiteReportInput {
  return {
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    campaignId: 'camp_1',
    jobId: 'job-7',
    siteId: 'site-a',
    model: { vendor: 'acme', name: 'cxr-net', version: '1.2.0', sha256: 'a'.repeat(64) },
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: equalWidthEdges(10),
    outcomes,
    excluded: { 'no-label': 3, 'not-dicom': 1 },
    images: { seen: 120, used: 110 },
    ...over,
  };
}

function randomOutcomes(seed: number, len: number, prevalence = 0.3): { score: number; label: 0 | 1 }[] {
  const rand = seededRandom(seed);
  return Array.from({ length: len }, () => {
    const label: 0 | 1 = rand() < prevalence ? 1 : 0;
    return { score: Math.min(1, Math.max(0, rand() * 0.7 + label * 0.3)), label };
  });
}

describe('buildSiteReport', () => {
  it('computes counts, Wilson metrics, DeLong AUC and histograms, and validates', () => {
    const outcomes = randomOutcomes(1, 200);
    const r = buildSiteReport(input(outcomes));
    expect(SiteReport.safeParse(r).success).toBe(true);
    const pos = outcomes.filter((o) => o.label === 1);
    const neg = outcomes.filter((o) => o.label === 0);
    expect(r.cases).toBe(200);
    expect(r.positives).toBe(pos.length);
    expect(r.negatives).toBe(neg.length);
    expect(r.minCell).toBe(0);
    expect(r.suppressed).toEqual([]);
    const tp = pos.filter((o) => o.score >= 0.5).length;
    const tn = neg.filter((o) => o.score < 0.5).length;
    expect(r.confusion).toEqual({ tp, fn: pos.length - tp, tn, fp: neg.length - tn });
    const w = wilson(tp, pos.length);
    expect(r.sensitivity).toEqual({ ...w, numerator: tp, denominator: pos.length, method: 'wilson' });
    expect(r.specificity.numerator).toBe(tn);
    expect(r.ppv.denominator).toBe(tp + neg.length - tn);
    expect(r.npv.denominator).toBe(tn + pos.length - tp);
    const a = delongAuc(
      outcomes.map((o) => o.score),
      outcomes.map((o) => o.label),
    );
    expect(r.auc).toEqual({
      estimate: a.estimate,
      se: a.estimate === null ? null : a.se,
      ciLow: a.estimate === null ? null : a.ciLow,
      ciHigh: a.estimate === null ? null : a.ciHigh,
      method: 'delong',
    });
    expect(r.histogram.edges).toEqual(equalWidthEdges(10));
    expect(r.histogram.positives.reduce((s, x) => s + x, 0)).toBe(pos.length);
    expect(r.histogram.negatives.reduce((s, x) => s + x, 0)).toBe(neg.length);
    expect(r.excluded).toEqual({ 'no-label': 3, 'not-dicom': 1 });
    expect(r.images).toEqual({ seen: 120, used: 110 });
  });

  it('no cases: every metric and the AUC are null with reason "empty"', () => {
    const r = buildSiteReport(input([]));
    for (const m of [r.sensitivity, r.specificity, r.ppv, r.npv]) {
      expect(m).toMatchObject({
        estimate: null,
        ciLow: null,
        ciHigh: null,
        numerator: 0,
        denominator: 0,
        reason: 'empty',
      });
    }
    expect(r.auc).toMatchObject({ estimate: null, se: null, reason: 'empty' });
    expect(r.histogram.positives.every((c) => c === 0)).toBe(true);
  });

  it('one class missing: reasons name it', () => {
    const onlyNeg = buildSiteReport(
      input([
        { score: 0.2, label: 0 },
        { score: 0.7, label: 0 },
      ]),
    );
    expect(onlyNeg.sensitivity.reason).toBe('no-positives');
    expect(onlyNeg.auc.reason).toBe('no-positives');
    expect(onlyNeg.specificity.estimate).toBe(0.5);
    expect(onlyNeg.npv).toMatchObject({ numerator: 1, denominator: 1, estimate: 1 });
    const onlyPos = buildSiteReport(input([{ score: 0.2, label: 1 }]));
    expect(onlyPos.specificity.reason).toBe('no-negatives');
    expect(onlyPos.auc.reason).toBe('no-negatives');
    expect(onlyPos.ppv).toMatchObject({ estimate: null, reason: 'empty', denominator: 0 });
  });

  it('a single positive: AUC estimate given, SE and CI null (no variance from one placement)', () => {
    const r = buildSiteReport(
      input([
        { score: 0.9, label: 1 },
        { score: 0.2, label: 0 },
        { score: 0.95, label: 0 },
      ]),
    );
    expect(r.auc).toEqual({ estimate: 0.5, se: null, ciLow: null, ciHigh: null, method: 'delong' });
  });

  it('throws on invalid input instead of emitting an invalid report', () => {
    expect(() => buildSiteReport(input([], { reportId: 'not-a-uuid' }))).toThrow(/reportId/);
    expect(() => buildSiteReport(input([{ score: Number.NaN, label: 1 }]))).toThrow(/score/);
    expect(() => buildSiteReport(input([], { siteId: 'Bad Site' }))).toThrow(/siteId/);
  });
});
