import { describe, expect, it } from 'vitest';
import { parseRows, runPython, seededRandom } from '../test/support/oracles.ts';
import { confusionAt } from './confusion.ts';

describe('confusionAt against sklearn confusion_matrix', () => {
  const rand = seededRandom(5);
  const cases: { scores: number[]; labels: number[]; t: number }[] = [];
  for (let c = 0; c < 30; c++) {
    const len = Math.floor(rand() * 60);
    const scores = Array.from({ length: len }, () => Math.round(rand() * 10) / 10); // ties at the threshold
    const labels = Array.from({ length: len }, () => (rand() < 0.3 ? 1 : 0));
    cases.push({ scores, labels, t: Math.round(rand() * 10) / 10 });
  }
  const out = runPython(
    `
from sklearn.metrics import confusion_matrix
pos = 0
for n, t in zip(lens, ts):
    n = int(n)
    s = scores[pos:pos + n]; y = [int(v) for v in labels[pos:pos + n]]
    pos += n
    pred = [1 if v >= t else 0 for v in s]
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    print(tp, fp, tn, fn)
`,
    {
      scores: cases.flatMap((c) => c.scores),
      labels: cases.flatMap((c) => c.labels),
      lens: cases.map((c) => c.scores.length),
      ts: cases.map((c) => c.t),
    },
  );
  const ref = parseRows(out);
  it('counts agree, score == threshold is a positive call', () => {
    expect(ref.length).toBe(cases.length);
    cases.forEach((c, i) => {
      const [tp, fp, tn, fn] = ref[i] as number[];
      expect(confusionAt(c.scores, c.labels, c.t)).toEqual({ tp, fp, tn, fn });
    });
    expect(confusionAt([0.5, 0.5], [1, 0], 0.5)).toEqual({ tp: 1, fp: 1, tn: 0, fn: 0 });
    expect(() => confusionAt([Number.NaN], [1], 0.5)).toThrow(/NaN/);
    expect(() => confusionAt([0.1], [3], 0.5)).toThrow(/0 or 1/);
  });
});
