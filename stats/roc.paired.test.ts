import { describe, expect, it } from 'vitest';
import { expectClose, normalDeviate, parseRows, runR, seededRandom } from '../test/support/oracles.ts';
import { pairedDelong } from './roc.ts';

interface Case {
  a: number[];
  b: number[];
  labels: number[];
}

/** Two correlated models on the same cases: continuous, tied, tiny, lopsided, one model perfect. */
function makeCases(): Case[] {
  const rand = seededRandom(303);
  const cases: Case[] = [];
  const gen = (m: number, n: number, shiftA: number, shiftB: number, rho: number, grid: number | null) => {
    const a: number[] = [];
    const b: number[] = [];
    const labels: number[] = [];
    const round = (v: number) => (grid === null ? v : Math.round(v * grid) / grid);
    for (let i = 0; i < m + n; i++) {
      const y = i < m ? 1 : 0;
      const common = normalDeviate(rand);
      const ea = normalDeviate(rand);
      const eb = normalDeviate(rand);
      a.push(round(y * shiftA + Math.sqrt(rho) * common + Math.sqrt(1 - rho) * ea));
      b.push(round(y * shiftB + Math.sqrt(rho) * common + Math.sqrt(1 - rho) * eb));
      labels.push(y);
    }
    cases.push({ a, b, labels });
  };
  gen(2, 2, 1, 0.5, 0.5, null); // tiny
  gen(3, 4, 1, 1, 0.3, 1); // tiny with heavy ties
  gen(3, 300, 1.5, 1, 0.7, null); // lopsided
  gen(250, 4, 1.5, 1, 0.7, 4);
  gen(30, 30, 20, 1, 0.5, null); // model A separates perfectly, B does not
  gen(100, 120, 1, 1, 0.9, 10); // equal models, highly correlated, tied
  for (let t = 0; t < 25; t++) {
    const m = 2 + Math.floor(rand() * 150);
    const n = 2 + Math.floor(rand() * 150);
    gen(m, n, rand() * 2, rand() * 2, rand() * 0.95, t % 2 === 0 ? null : 5);
  }
  return cases;
}

describe('paired DeLong against pROC roc.test(method = "delong", paired = TRUE)', () => {
  const cases = makeCases();
  const out = runR(
    `
suppressMessages(library(pROC))
ends <- cumsum(lens); starts <- ends - lens + 1
for (i in seq_along(lens)) {
  idx <- starts[i]:ends[i]; y <- labels[idx]
  r1 <- roc(response = y, predictor = a[idx], levels = c(0, 1), direction = "<", quiet = TRUE)
  r2 <- roc(response = y, predictor = b[idx], levels = c(0, 1), direction = "<", quiet = TRUE)
  t <- roc.test(r1, r2, method = "delong", paired = TRUE)
  cv <- cov(r1, r2, method = "delong")
  cat(sprintf("%.17g", c(as.numeric(t$estimate), as.numeric(t$statistic), t$p.value, var(r1), var(r2), cv)), "\\n")
}
`,
    {
      a: cases.flatMap((c) => c.a),
      b: cases.flatMap((c) => c.b),
      labels: cases.flatMap((c) => c.labels),
      lens: cases.map((c) => c.a.length),
    },
  );
  const ref = parseRows(out);

  it('every case went through pROC', () => expect(ref.length).toBe(cases.length));

  it('θA, θB (1e-12), z, p, Var A, Var B and Cov (1e-9) agree', () => {
    cases.forEach((c, i) => {
      const [aucA, aucB, z, p, vA, vB, cov] = ref[i] as number[];
      const r = pairedDelong(c.a, c.b, c.labels);
      expectClose(r.aucA, aucA as number, 1e-12, `aucA ${i}`);
      expectClose(r.aucB, aucB as number, 1e-12, `aucB ${i}`);
      expectClose(r.difference, (aucA as number) - (aucB as number), 1e-12, `difference ${i}`);
      expectClose(r.z, z as number, 1e-9, `z ${i}`);
      expectClose(r.p, p as number, 1e-9, `p ${i}`);
      expect(r.covariance, `covariance ${i}`).not.toBeNull();
      const S = r.covariance as [[number, number], [number, number]];
      expectClose(S[0][0], vA as number, 1e-9, `Var A ${i}`);
      expectClose(S[1][1], vB as number, 1e-9, `Var B ${i}`);
      expectClose(S[0][1], cov as number, 1e-9, `Cov ${i}`);
      expect(S[1][0]).toBe(S[0][1]);
      expectClose(r.se, Math.sqrt((vA as number) + (vB as number) - 2 * (cov as number)), 1e-9, `se ${i}`);
    });
  });

  it('degenerate input: defined answers with a reason, never NaN', () => {
    expect(pairedDelong([0.1, 0.2], [0.3, 0.4], [0, 0])).toMatchObject({
      aucA: null,
      reason: 'no-positives',
    });
    expect(pairedDelong([0.1, 0.2], [0.3, 0.4], [1, 1])).toMatchObject({
      aucA: null,
      reason: 'no-negatives',
    });
    expect(pairedDelong([], [], [])).toMatchObject({ aucA: null, reason: 'empty' });
    expect(pairedDelong([0.9, 0.1, 0.2], [0.1, 0.9, 0.3], [1, 0, 0])).toMatchObject({
      aucA: 1,
      aucB: 0,
      difference: 1,
      se: null,
      z: null,
      p: null,
      covariance: null,
      reason: 'too-few',
    });
    // Both perfect: the difference has no variance.
    const both = pairedDelong([0.9, 0.8, 0.1, 0.2], [0.7, 0.6, 0.3, 0.2], [1, 1, 0, 0]);
    expect(both).toMatchObject({
      aucA: 1,
      aucB: 1,
      difference: 0,
      se: 0,
      z: null,
      p: null,
      reason: 'zero-variance',
    });
    // The same model twice.
    const s = [0.3, 0.5, 0.2, 0.8, 0.6];
    expect(pairedDelong(s, s, [0, 1, 0, 1, 0])).toMatchObject({
      difference: 0,
      se: 0,
      reason: 'zero-variance',
    });
    expect(() => pairedDelong([0.1], [0.2, 0.3], [1])).toThrow(/length/);
    expect(() => pairedDelong([0.1, Number.NaN], [0.2, 0.3], [1, 0])).toThrow(/NaN/);
  });
});
