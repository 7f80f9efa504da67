import { describe, expect, it } from 'vitest';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { checkInvariants, type Outcome, report, withCounts } from './gate.test-util.ts';
import { privacyGate } from './gate.ts';

describe('privacyGate: histogram', () => {
  /** Brute force over every subset of inner edges: the most bins any valid merge can release. */
  function bestBins(pos: number[], neg: number[], k: number): number {
    const inner = pos.length - 1;
    let best = -1;
    for (let mask = 0; mask < 1 << inner; mask++) {
      let p = 0;
      let n = 0;
      let groups = 0;
      let valid = true;
      for (let b = 0; b < pos.length; b++) {
        p += pos[b] as number;
        n += neg[b] as number;
        if (b === inner || mask & (1 << b)) {
          if ((p > 0 && p < k) || (n > 0 && n < k)) valid = false;
          groups++;
          p = 0;
          n = 0;
        }
      }
      if (valid) best = Math.max(best, groups);
    }
    return best;
  }

  it('merges jointly, keeps totals, and releases as many bins as any valid merge', () => {
    const rand = seededRandom(21);
    for (let t = 0; t < 200; t++) {
      const bins = 1 + Math.floor(rand() * 9);
      const edges = equalWidthEdges(bins);
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 5 + Math.floor(rand() * 60); i++) {
        outcomes.push({ score: rand() ** (1 + rand() * 3), label: rand() < 0.4 ? 1 : 0 });
      }
      const full = report(outcomes, edges);
      const k = 2 + Math.floor(rand() * 8);
      const g = privacyGate(full, { minCell: k });
      checkInvariants(full, g, k);
      // A withheld class takes no part in choosing the edges.
      const released = (c: 'positives' | 'negatives') =>
        g.histogram[c] === null ? full.histogram[c].map(() => 0) : full.histogram[c];
      const best = bestBins(released('positives'), released('negatives'), k);
      const bothWithheld = g.histogram.positives === null && g.histogram.negatives === null;
      expect(g.histogram.edges.length - 1).toBe(bothWithheld || best < 0 ? 1 : best);
    }
  });

  it('a worked example', () => {
    const full = report(withCounts({ tp: 0, fn: 0, fp: 0, tn: 0 }));
    const h = { edges: [0, 0.25, 0.5, 0.75, 1], positives: [1, 6, 0, 9], negatives: [5, 2, 3, 0] };
    const g = privacyGate(
      {
        ...full,
        cases: 26,
        positives: 16,
        negatives: 10,
        confusion: { tp: 9, fn: 7, fp: 0, tn: 10 },
        histogram: h,
        ppv: { ...full.ppv, numerator: 9, denominator: 9 },
        npv: { ...full.npv, numerator: 10, denominator: 17 },
        sensitivity: { ...full.sensitivity, numerator: 9, denominator: 16 },
        specificity: { ...full.specificity, numerator: 10, denominator: 10 },
      },
      { minCell: 5 },
    );
    // P [1,6,0,9], N [5,2,3,0] at k = 5: bin 0 has P 1 and bin 2 has N 3, so they must join neighbours.
    // [0, .75) → P 7, N 10 and [.75, 1] → P 9, N 0 is valid; no 3-bin merge is ([0,.5) P 7 N 7 leaves
    // [.5,.75) with N 3 or [.5,1] with N 3).
    expect(g.histogram).toEqual({ edges: [0, 0.75, 1], positives: [7, 9], negatives: [10, 0] });
  });

  it('a class total below k is withheld: its histogram is null and the edges follow the other class only', () => {
    const negatives = withCounts({ tp: 0, fn: 0, fp: 30, tn: 40 });
    const full = report([...withCounts({ tp: 2, fn: 1, fp: 0, tn: 0 }), ...negatives]);
    const g = privacyGate(full, { minCell: 5 });
    expect(g.histogram.positives).toBeNull();
    expect(g.histogram.negatives?.reduce((s, x) => s + x, 0)).toBe(70);
    const alone = privacyGate(report(negatives), { minCell: 5 });
    expect(g.histogram.edges).toEqual(alone.histogram.edges);
    checkInvariants(full, g, 5);
  });
});
