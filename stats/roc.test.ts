import { describe, expect, it } from 'vitest';
import {
  expectClose,
  normalDeviate,
  parseNumbers,
  parseRows,
  runPython,
  runR,
  seededRandom,
} from '../test/support/oracles.ts';
import { delongAuc, delongComponents, midranks } from './roc.ts';

interface Case {
  scores: number[];
  labels: number[];
  level: number;
}

/** Generated cases: continuous and heavily tied scores, tiny and lopsided samples, perfect separation. */
function makeCases(): Case[] {
  const rand = seededRandom(42);
  const cases: Case[] = [];
  const gen = (m: number, n: number, shift: number, grid: number | null, level = 0.95) => {
    const scores: number[] = [];
    const labels: number[] = [];
    const draw = (mu: number) => {
      const s = mu + normalDeviate(rand);
      return grid === null ? s : Math.round(s * grid) / grid;
    };
    for (let i = 0; i < m; i++) {
      scores.push(draw(shift));
      labels.push(1);
    }
    for (let j = 0; j < n; j++) {
      scores.push(draw(0));
      labels.push(0);
    }
    // Interleave classes so nothing depends on positives coming first.
    for (let i = scores.length - 1; i > 0; i--) {
      const k = Math.floor(rand() * (i + 1));
      [scores[i], scores[k]] = [scores[k] as number, scores[i] as number];
      [labels[i], labels[k]] = [labels[k] as number, labels[i] as number];
    }
    cases.push({ scores, labels, level });
  };
  gen(1, 1, 1, null);
  gen(1, 5, 1, null);
  gen(5, 1, 1, null);
  gen(2, 2, 0.5, null);
  gen(2, 3, 0.5, 1); // ties
  gen(3, 200, 1, null); // lopsided
  gen(300, 4, 1, 2);
  gen(20, 20, 10, null); // perfect separation
  gen(20, 20, -10, null); // perfectly inverted
  cases.push({ scores: [0.5, 0.5, 0.5, 0.5, 0.5], labels: [1, 0, 1, 0, 0], level: 0.95 }); // all tied
  cases.push({ scores: [1, 2, 3, 4], labels: [0, 0, 1, 1], level: 0.95 });
  cases.push({ scores: [0.3, 0.3, 0.2, 0.9, 0.1, 0.3], labels: [1, 0, 1, 1, 0, 0], level: 0.95 });
  for (let t = 0; t < 40; t++) {
    const m = 2 + Math.floor(rand() * 150);
    const n = 2 + Math.floor(rand() * 150);
    const grid = t % 3 === 0 ? null : t % 3 === 1 ? 4 : 20;
    gen(m, n, rand() * 2, grid, [0.9, 0.95, 0.99][t % 3] as number);
  }
  gen(2000, 3000, 0.8, 100);
  return cases;
}

describe('DeLong AUC against pROC and sklearn', () => {
  const cases = makeCases();
  const scores = cases.flatMap((c) => c.scores);
  const labels = cases.flatMap((c) => c.labels);
  const lens = cases.map((c) => c.scores.length);
  const levels = cases.map((c) => c.level);

  const rOut = runR(
    `
suppressMessages(library(pROC))
ends <- cumsum(lens); starts <- ends - lens + 1
for (i in seq_along(lens)) {
  s <- scores[starts[i]:ends[i]]; y <- labels[starts[i]:ends[i]]
  r <- roc(response = y, predictor = s, levels = c(0, 1), direction = "<", quiet = TRUE)
  v <- var(r, method = "delong")
  ci <- as.numeric(ci.auc(r, method = "delong", conf.level = levels[i]))
  cat(sprintf("%.17g", c(as.numeric(auc(r)), v, ci[1], ci[3])), "\\n")
}
`,
    { scores, labels, lens, levels },
  );
  const pROC = parseRows(rOut);

  const pyOut = runPython(
    `
from sklearn.metrics import roc_auc_score
from scipy.stats import rankdata
pos = 0
for n in lens:
    n = int(n)
    s = scores[pos:pos + n]; y = [int(v) for v in labels[pos:pos + n]]
    pos += n
    print('%.17g' % roc_auc_score(y, s), ' '.join('%.17g' % r for r in rankdata(s, method='average')))
`,
    { scores, labels, lens },
  );
  const sk = parseRows(pyOut);

  it('ran every case through both oracles', () => {
    expect(pROC.length).toBe(cases.length);
    expect(sk.length).toBe(cases.length);
  });

  it('midranks equal scipy rankdata(method="average")', () => {
    cases.forEach((c, i) => {
      expect(Array.from(midranks(c.scores))).toEqual((sk[i] as number[]).slice(1));
    });
  });

  it('AUC equals sklearn roc_auc_score and pROC auc (1e-12)', () => {
    cases.forEach((c, i) => {
      const r = delongAuc(c.scores, c.labels, c.level);
      expect(r.estimate, `case ${i}`).not.toBeNull();
      expectClose(r.estimate, (sk[i] as number[])[0] as number, 1e-12, `sklearn auc case ${i}`);
      expectClose(r.estimate, (pROC[i] as number[])[0] as number, 1e-12, `pROC auc case ${i}`);
    });
  });

  it('DeLong variance, se and CI equal pROC var() / ci.auc(method="delong") (1e-9)', () => {
    cases.forEach((c, i) => {
      const r = delongAuc(c.scores, c.labels, c.level);
      const [, v, lo, hi] = pROC[i] as number[];
      if (r.estimate === null) throw new Error('unexpected undefined AUC');
      expectClose(r.variance, v as number, 1e-9, `variance case ${i}`);
      expectClose(r.se, Math.sqrt(v as number), 1e-9, `se case ${i}`);
      expectClose(r.ciLow, lo as number, 1e-9, `ciLow case ${i}`);
      expectClose(r.ciHigh, hi as number, 1e-9, `ciHigh case ${i}`);
    });
  });

  it('m = 1 or n = 1: estimate defined, se and CI null (pROC gives NA)', () => {
    for (const [s, y] of [
      [
        [0.2, 0.4, 0.9],
        [0, 1, 0],
      ],
      [
        [0.2, 0.4, 0.9],
        [1, 1, 0],
      ],
    ] as const) {
      const r = delongAuc(s, y);
      expect(r.estimate).not.toBeNull();
      if (r.estimate === null) return;
      expect(r.se).toBeNull();
      expect(r.ciLow).toBeNull();
      expect(r.ciHigh).toBeNull();
    }
    expect(pROC[0]?.slice(1).every(Number.isNaN)).toBe(true);
  });

  it('perfect separation: AUC 1, se 0, CI [1, 1]', () => {
    const r = delongAuc([0.9, 0.8, 0.7, 0.1, 0.2], [1, 1, 1, 0, 0]);
    expect(r).toMatchObject({ estimate: 1, se: 0, ciLow: 1, ciHigh: 1, m: 3, n: 2 });
  });

  it('undefined without one class, with a reason', () => {
    expect(delongAuc([], [])).toEqual({ estimate: null, reason: 'empty', m: 0, n: 0 });
    expect(delongAuc([0.1, 0.2], [0, 0])).toEqual({ estimate: null, reason: 'no-positives', m: 0, n: 2 });
    expect(delongAuc([0.1, 0.2], [1, 1])).toEqual({ estimate: null, reason: 'no-negatives', m: 2, n: 0 });
    expect(() => delongAuc([0.1, 0.2], [1, 2])).toThrow(/0 or 1/);
    expect(() => delongAuc([0.1, Number.NaN], [1, 0])).toThrow(/NaN/);
    expect(() => delongAuc([0.1], [1, 0])).toThrow(/length/);
  });

  it('components are the per-case placement values', () => {
    const c = delongComponents([0.1, 0.5, 0.5, 0.9], [0, 1, 0, 1]);
    expect(Array.from(c.v10)).toEqual([0.75, 1]);
    expect(Array.from(c.v01)).toEqual([1, 0.75]);
    expect(c.auc).toBe(0.875);
    expect(parseNumbers('1 NA')[1]).toBeNaN();
  });
});
