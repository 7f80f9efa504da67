import { describe, expect, it } from 'vitest';
import { SiteReport } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { buildSiteReport, type FullSiteReport } from '../report/site-report.ts';
import { applyDifferentialPrivacy } from './differential-privacy.ts';
import { privacyGate } from './gate.ts';

/** Uniform integers in [0, max) from the tests' seeded generator, so distribution checks are deterministic. */
function seeded(seed: number) {
  const uniform = seededRandom(seed);
  return (max: number) => Math.floor(uniform() * max);
}

function report(): FullSiteReport {
  const random = seeded(5);
  const outcomes = Array.from({ length: 400 }, (_, i) => {
    const label = (i % 3 === 0 ? 1 : 0) as 0 | 1;
    return {
      label,
      score: Math.min(1, Math.max(0, (label ? 0.65 : 0.35) + (random(1000) - 500) / 1500)),
      attributes: { sex: i % 2 ? 'F' : 'M' },
    };
  });
  return buildSiteReport({
    reportId: '6f1c2a3e-1111-4222-8333-944455556666',
    campaignId: 'cmp_dp',
    jobId: 'job_dp',
    siteId: 'site-a',
    model: { vendor: 'acme-ai', name: 'm', version: '1.0.0', sha256: 'a'.repeat(64) },
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: equalWidthEdges(10),
    outcomes,
    excluded: { 'no-label': 2 },
    images: { seen: 1200, used: 1190 },
  });
}

describe('differential privacy on released counts', () => {
  it('with a very large ε releases the same counts, re-derives every metric, and drops per-case statistics', () => {
    const base = report();
    const dp = SiteReport.parse(applyDifferentialPrivacy(base, { epsilon: 200, random: seeded(1) }));
    expect(dp.confusion).toEqual(base.confusion);
    expect(dp.histogram).toEqual(base.histogram);
    expect(dp.sensitivity.estimate).toBeCloseTo(base.sensitivity.estimate as number, 12);
    expect(dp.differentialPrivacy).toEqual({
      mechanism: 'discrete-laplace',
      epsilon: 200,
      allocation: { confusion: 100, histogram: 100 },
    });
    expect(dp.calibration).toBeUndefined();
    expect(dp.paired).toBeUndefined();
    expect(dp.subgroups).toEqual([]);
  });

  it('adds discrete Laplace noise with the variance ε/2 per release implies, and stays consistent', () => {
    const base = report();
    const random = seeded(9);
    const epsilon = 1;
    const a = Math.exp(-epsilon / 2);
    const expectedVariance = (2 * a) / (1 - a) ** 2;
    const diffs: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const dp = applyDifferentialPrivacy(base, { epsilon, random });
      diffs.push((dp.confusion.tn as number) - (base.confusion.tn as number));
      expect(dp.positives).toBe((dp.confusion.tp as number) + (dp.confusion.fn as number));
      expect(dp.histogram.positives.reduce((s, v) => s + v, 0)).toBe(dp.positives);
      expect(dp.histogram.negatives.reduce((s, v) => s + v, 0)).toBe(dp.negatives);
    }
    const mean = diffs.reduce((s, v) => s + v, 0) / diffs.length;
    const variance = diffs.reduce((s, v) => s + (v - mean) ** 2, 0) / (diffs.length - 1);
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(variance / expectedVariance).toBeGreaterThan(0.85);
    expect(variance / expectedVariance).toBeLessThan(1.15);
  });

  it('goes through the gate: noise first, then the minimum-cell rules on the noisy counts', () => {
    const gated = privacyGate(report(), { minCell: 5, dp: { epsilon: 0.5, random: seeded(3) } });
    expect(gated.differentialPrivacy?.epsilon).toBe(0.5);
    for (const v of Object.values(gated.confusion)) expect(v === null || v === 0 || v >= 5).toBe(true);
    for (const v of [...(gated.histogram.positives ?? []), ...(gated.histogram.negatives ?? [])])
      expect(v === 0 || v >= 5).toBe(true);
  });
});
