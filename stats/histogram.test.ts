import { describe, expect, it } from 'vitest';
import { expectClose, normalDeviate, parseRows, runR, seededRandom } from '../test/support/oracles.ts';
import { binCounts, binnedAuc, equalWidthEdges } from './histogram.ts';
import { delongAuc } from './roc.ts';

interface Case {
  scores: number[];
  labels: number[];
  edges: number[];
}

function makeCases(): Case[] {
  const rand = seededRandom(99);
  const cases: Case[] = [];
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const gen = (m: number, n: number, shift: number, edges: number[]) => {
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < m; i++) {
      scores.push(sigmoid(shift + normalDeviate(rand)));
      labels.push(1);
    }
    for (let j = 0; j < n; j++) {
      scores.push(sigmoid(normalDeviate(rand)));
      labels.push(0);
    }
    cases.push({ scores, labels, edges });
  };
  gen(2, 2, 1, equalWidthEdges(10));
  gen(1, 30, 1, equalWidthEdges(10));
  gen(30, 1, 1, equalWidthEdges(10));
  gen(3, 150, 2, equalWidthEdges(20));
  gen(40, 40, 20, equalWidthEdges(10)); // separated: every positive in the top bin
  gen(50, 50, 1, [0, 1]); // one bin: AUC ½
  gen(50, 50, 1, [0.3, 0.5, 0.7]); // scores outside the edges go to the end bins
  for (let t = 0; t < 30; t++) {
    const bins = [2, 5, 10, 20, 100][t % 5] as number;
    gen(2 + Math.floor(rand() * 200), 2 + Math.floor(rand() * 200), rand() * 2, equalWidthEdges(bins));
  }
  return cases;
}

describe('binned AUC against pROC on bin indices', () => {
  const cases = makeCases();
  const binned = cases.map((c) => {
    const pos = c.scores.filter((_, i) => c.labels[i] === 1);
    const neg = c.scores.filter((_, i) => c.labels[i] === 0);
    return { P: binCounts(pos, c.edges), N: binCounts(neg, c.edges) };
  });
  // For R: each score replaced by its bin index, computed independently with findInterval in R.
  const scores = cases.flatMap((c) => c.scores);
  const labels = cases.flatMap((c) => c.labels);
  const lens = cases.map((c) => c.scores.length);
  const edges = cases.flatMap((c) => c.edges);
  const nEdges = cases.map((c) => c.edges.length);
  const out = runR(
    `
suppressMessages(library(pROC))
ends <- cumsum(lens); starts <- ends - lens + 1
eEnds <- cumsum(nEdges); eStarts <- eEnds - nEdges + 1
for (i in seq_along(lens)) {
  s <- scores[starts[i]:ends[i]]; y <- labels[starts[i]:ends[i]]
  e <- edges[eStarts[i]:eEnds[i]]
  nb <- length(e) - 1
  b <- pmin(pmax(findInterval(s, e), 1), nb)
  r <- roc(response = y, predictor = b, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- as.numeric(ci.auc(r, method = "delong"))
  counts <- c(tabulate(b[y == 1], nb), tabulate(b[y == 0], nb))
  cat(sprintf("%.17g", c(as.numeric(auc(r)), var(r), ci[1], ci[3], counts)), "\\n")
}
`,
    { scores, labels, lens, edges, nEdges },
  );
  const ref = parseRows(out);

  it('bin counts equal R findInterval (clamped to the end bins) + tabulate', () => {
    expect(ref.length).toBe(cases.length);
    binned.forEach((b, i) => {
      expect([...b.P, ...b.N], `case ${i}`).toEqual((ref[i] as number[]).slice(4));
    });
  });

  it('binnedAuc AUC, variance and CI equal pROC on bin indices (1e-9)', () => {
    binned.forEach((b, i) => {
      const r = binnedAuc(b.P, b.N);
      const [auc, v, lo, hi] = ref[i] as number[];
      if (r.estimate === null) throw new Error(`case ${i} undefined`);
      expectClose(r.estimate, auc as number, 1e-12, `auc ${i}`);
      expectClose(r.variance, v as number, 1e-9, `variance ${i}`);
      expectClose(r.ciLow, lo as number, 1e-9, `ciLow ${i}`);
      expectClose(r.ciHigh, hi as number, 1e-9, `ciHigh ${i}`);
    });
  });

  it('binning error on AUC is within ½ Σ P_b N_b/(mn) of the raw-score AUC', () => {
    cases.forEach((c, i) => {
      const raw = delongAuc(c.scores, c.labels);
      const b = binned[i] as { P: number[]; N: number[] };
      const r = binnedAuc(b.P, b.N);
      if (raw.estimate === null || r.estimate === null) throw new Error('undefined');
      const bound = (0.5 * b.P.reduce((s, p, k) => s + p * (b.N[k] as number), 0)) / (raw.m * raw.n);
      expect(Math.abs(raw.estimate - r.estimate)).toBeLessThanOrEqual(bound + 1e-15);
    });
  });
});

describe('binCounts and equalWidthEdges', () => {
  it('half-open bins, closed last bin, out-of-range into the end bins', () => {
    expect(binCounts([0, 0.1, 0.5, 0.999, 1, -3, 7], [0, 0.5, 1])).toEqual([3, 4]);
    expect(binCounts([0.5], [0, 0.5, 1])).toEqual([0, 1]);
    expect(binCounts([], [0, 1])).toEqual([0]);
  });
  it('rejects bad edges and NaN', () => {
    expect(() => binCounts([0.1], [0])).toThrow();
    expect(() => binCounts([0.1], [0, 0])).toThrow(/increasing/);
    expect(() => binCounts([Number.NaN], [0, 1])).toThrow(/NaN/);
  });
  it('equal-width edges end exactly at hi', () => {
    const e = equalWidthEdges(10);
    expect(e).toHaveLength(11);
    expect(e[0]).toBe(0);
    expect(e[10]).toBe(1);
    expect(e[3]).toBeCloseTo(0.3, 15);
    expect(equalWidthEdges(4, -2, 2)).toEqual([-2, -1, 0, 1, 2]);
    expect(() => equalWidthEdges(0)).toThrow();
  });
  it('binnedAuc: undefined classes and m = 1', () => {
    expect(binnedAuc([0, 0], [1, 2])).toEqual({ estimate: null, reason: 'no-positives', m: 0, n: 3 });
    expect(binnedAuc([0, 0], [0, 0])).toEqual({ estimate: null, reason: 'empty', m: 0, n: 0 });
    expect(binnedAuc([0, 1], [2, 1])).toMatchObject({ estimate: 5 / 6, se: null, m: 1, n: 3 });
    expect(() => binnedAuc([1], [1, 2])).toThrow();
  });
});
