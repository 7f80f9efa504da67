import { describe, expect, it } from 'vitest';
import { normalDeviate, seededRandom } from '../test/support/oracles.ts';
import { qnorm } from './normal.ts';
import { delongAuc } from './roc.ts';

/**
 * Coverage of the 95 % DeLong interval: 2,400 simulated sites, binormal scores (negatives N(0, 1),
 * positives N(δ, 1)), so the true AUC is Φ(δ/√2) exactly. Fixed seed: the count is deterministic.
 */
describe('DeLong interval coverage on simulated sites with known AUC', () => {
  it('95 % intervals cover the true AUC in 93.5–96.5 % of 2,400 sites', () => {
    const rand = seededRandom(20260501);
    const sites = 2400;
    const trueAucs = [0.7, 0.8, 0.9];
    let covered = 0;
    for (let s = 0; s < sites; s++) {
      const truth = trueAucs[s % trueAucs.length] as number;
      const delta = Math.SQRT2 * qnorm(truth);
      const m = 80 + Math.floor(rand() * 120);
      const n = 120 + Math.floor(rand() * 200);
      const scores = new Float64Array(m + n);
      const labels = new Uint8Array(m + n);
      for (let i = 0; i < m + n; i++) {
        const y = i < m ? 1 : 0;
        labels[i] = y;
        scores[i] = y * delta + normalDeviate(rand);
      }
      const r = delongAuc(scores, labels);
      if (r.estimate === null || r.ciLow === null || r.ciHigh === null) throw new Error('undefined AUC');
      if (r.ciLow <= truth && truth <= r.ciHigh) covered++;
    }
    const coverage = covered / sites;
    console.log(`DeLong 95 % coverage: ${covered}/${sites} = ${(100 * coverage).toFixed(2)} %`);
    expect(coverage).toBeGreaterThanOrEqual(0.935);
    expect(coverage).toBeLessThanOrEqual(0.965);
  });
});
