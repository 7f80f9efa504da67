import { describe, expect, it } from 'vitest';
import { runPython, seededRandom } from '../../test/support/oracles.ts';
import { bernoulliExpMinus, epsilonToRational, sampleDiscreteLaplace } from './discrete-laplace.ts';

/** Uniform integers in [0, max) from the tests' seeded generator, so distribution checks are deterministic. */
function seeded(seed: number) {
  const uniform = seededRandom(seed);
  return (max: number) => Math.floor(uniform() * max);
}

describe('discrete Laplace sampler', () => {
  it('Bernoulli(exp(−γ)) has the right frequency, including γ > 1', () => {
    const random = seeded(7);
    for (const [n, d] of [
      [1, 2],
      [1, 1],
      [5, 2],
    ] as const) {
      const draws = 40_000;
      let hits = 0;
      for (let i = 0; i < draws; i++) if (bernoulliExpMinus(n, d, random)) hits++;
      const p = Math.exp(-n / d);
      expect(Math.abs(hits / draws - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / draws));
    }
  });

  it('matches the discrete Laplace pmf (chi-square goodness of fit, scipy dlaplace)', () => {
    const random = seeded(11);
    const scale = epsilonToRational(1 / 0.7); // ε = 0.7 → scale ≈ 1.4286
    const draws = 50_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const x = sampleDiscreteLaplace({ n: scale.n, d: scale.d }, random);
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    const a = scale.d / scale.n; // scipy's dlaplace(a): pmf ∝ exp(−a|k|)
    const ks = Array.from({ length: 17 }, (_, i) => i - 8);
    const obs = ks.map((k) => counts.get(k) ?? 0);
    // The bins |k| ≤ 8 plus one bin for both tails.
    const out = runPython(
      `from scipy import stats
n = total[0]
e = [n * stats.dlaplace.pmf(int(k), a[0]) for k in ks]
print(stats.chisquare(obs + [n - sum(obs)], e + [n - sum(e)]).pvalue)`,
      { a: [a], ks, obs, total: [draws] },
    );
    expect(Number(out)).toBeGreaterThan(0.001);
  });

  it('is symmetric around zero with mean ≈ 0', () => {
    const random = seeded(3);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += sampleDiscreteLaplace({ n: 2, d: 1 }, random);
    expect(Math.abs(sum / 20_000)).toBeLessThan(0.1);
  });

  it('represents ε exactly as a rational and refuses nonsense', () => {
    expect(epsilonToRational(0.5)).toEqual({ n: 1, d: 2 });
    expect(epsilonToRational(1.25)).toEqual({ n: 5, d: 4 });
    expect(epsilonToRational(0.3 / 2)).toEqual({ n: 3, d: 20 });
    expect(epsilonToRational(0.1 + 0.2)).toEqual({ n: 3, d: 10 });
    // Half of ε = 0.003 per report: rounding up to 0.002 would add less noise than the ledger books.
    expect(epsilonToRational(0.0015)).toEqual({ n: 1, d: 1000 });
    for (const eps of [0.0015, 0.0025, 1.0005, 0.7777, 1 / 0.7, 2 / 3]) {
      const r = epsilonToRational(eps);
      expect(r.n / r.d).toBeLessThanOrEqual(eps);
    }
    expect(() => epsilonToRational(0)).toThrow();
    expect(() => epsilonToRational(Number.NaN)).toThrow();
  });
});
