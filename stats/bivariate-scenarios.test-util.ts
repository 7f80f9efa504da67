/** Synthetic multi-site confusion counts for the bivariate tests (bivariate.test.ts, bivariate-pool.test.ts). */
import { normalDeviate, seededRandom } from '../test/support/oracles.ts';
import type { SiteConfusion } from './bivariate.ts';
import { expit } from './meta.ts';

export interface Scenario {
  name: string;
  sites: SiteConfusion[];
  /** What metafor's free fit is expected to show: an interior optimum, or a boundary (ρ = ±1, τ² = 0). */
  boundary: 'none' | 'rho' | 'tau';
}

function binomial(rand: () => number, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (rand() < p) x++;
  return x;
}

/** Sites with true logits drawn from N((m1, m2), Σ(τ1, τ2, ρ)), then binomial counts. */
function generate(
  seed: number,
  k: number,
  m: [number, number],
  tau: [number, number],
  rho: number,
  size: (i: number, rand: () => number) => [number, number],
): SiteConfusion[] {
  const rand = seededRandom(seed);
  const out: SiteConfusion[] = [];
  for (let i = 0; i < k; i++) {
    const z1 = normalDeviate(rand);
    const z2 = rho * z1 + Math.sqrt(1 - rho * rho) * normalDeviate(rand);
    const [nPos, nNeg] = size(i, rand);
    const tp = binomial(rand, nPos, expit(m[0] + tau[0] * z1));
    const tn = binomial(rand, nNeg, expit(m[1] + tau[1] * z2));
    out.push({ tp, fn: nPos - tp, tn, fp: nNeg - tn });
  }
  return out;
}

const uniformSize =
  (lo: number, hi: number) =>
  (_i: number, rand: () => number): [number, number] => [
    lo + Math.floor(rand() * (hi - lo)),
    2 * lo + Math.floor(rand() * 2 * (hi - lo)),
  ];

export const scenarios: Scenario[] = [
  {
    name: 'small k = 4, interior fit',
    sites: generate(22, 4, [1.2, 2], [0.6, 0.5], 0.3, uniformSize(40, 120)),
    boundary: 'none',
  },
  {
    name: 'small k = 4, REML at ρ = −1 (common with few sites)',
    sites: generate(11, 4, [1.2, 2], [0.6, 0.5], -0.3, uniformSize(40, 120)),
    boundary: 'rho',
  },
  {
    name: 'k = 12, strong negative correlation (ρ = −0.85)',
    sites: generate(12, 12, [1, 1.8], [0.8, 0.7], -0.85, uniformSize(50, 200)),
    boundary: 'none',
  },
  {
    name: 'k = 20, positive correlation, large heterogeneity',
    sites: generate(13, 20, [0.5, 1.5], [1.1, 0.9], 0.6, uniformSize(30, 300)),
    boundary: 'none',
  },
  {
    name: 'unbalanced sizes (8 to 4000 per class)',
    sites: generate(14, 9, [1.5, 2.2], [0.5, 0.4], -0.4, (i) =>
      i % 3 === 0 ? [8, 15] : i % 3 === 1 ? [4000, 3000] : [60, 900],
    ),
    boundary: 'none',
  },
  {
    name: 'zero cells (fn = 0, fp = 0 at some sites)',
    sites: [
      ...generate(15, 8, [2, 2.5], [0.7, 0.6], -0.5, uniformSize(20, 80)),
      { tp: 25, fn: 0, tn: 40, fp: 3 },
      { tp: 18, fn: 2, tn: 55, fp: 0 },
      { tp: 12, fn: 0, tn: 30, fp: 0 },
    ],
    boundary: 'none',
  },
  {
    name: 'ρ on the boundary −1 (true ρ = −1, large sites)',
    sites: generate(16, 6, [1, 2], [0.6, 0.5], -1, uniformSize(400, 800)),
    boundary: 'rho',
  },
  {
    name: 'ρ on the boundary +1 (true ρ = +1)',
    sites: generate(17, 7, [0.8, 1.6], [0.7, 0.6], 1, uniformSize(400, 800)),
    boundary: 'rho',
  },
  {
    name: 'τ² = 0: the same sensitivity (80 %) at every site, specificity nearly so',
    sites: [20, 45, 60, 100, 150, 30].map((n, i) => ({
      tp: (4 * n) / 5,
      fn: n / 5,
      tn: 9 * n + (i % 2 ? 1 : -1),
      fp: n - (i % 2 ? 1 : -1),
    })),
    boundary: 'tau',
  },
  {
    name: 'τ ≈ 0: identical true accuracy everywhere (binomial noise only)',
    sites: generate(18, 8, [1.3, 2.1], [0, 0], 0, uniformSize(100, 300)),
    boundary: 'rho',
  },
];

export interface Logit {
  y1: number[];
  v1: number[];
  y2: number[];
  v2: number[];
}

export function toLogit(sites: SiteConfusion[]): Logit {
  const out: Logit = { y1: [], v1: [], y2: [], v2: [] };
  const lp = (x: number, n: number) => {
    const add = x === 0 || x === n ? 0.5 : 0;
    return [Math.log((x + add) / (n - x + add)), 1 / (x + add) + 1 / (n - x + add)] as const;
  };
  for (const s of sites) {
    const [a, va] = lp(s.tp as number, (s.tp as number) + (s.fn as number));
    const [b, vb] = lp(s.tn as number, (s.tn as number) + (s.fp as number));
    out.y1.push(a);
    out.v1.push(va);
    out.y2.push(b);
    out.v2.push(vb);
  }
  return out;
}
