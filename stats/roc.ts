/**
 * Area under the ROC curve with DeLong's variance (DeLong, DeLong & Clarke-Pearson 1988), computed by the
 * O(N log N) midrank algorithm of Sun & Xu (IEEE Signal Processing Letters 21:1389, 2014).
 * Convention: label 1 = positive (case), higher score = more likely positive, ties count ½
 * (pROC's roc(direction = "<")).
 */
import { zCritical } from './normal.ts';

export type AucUndefinedReason = 'no-positives' | 'no-negatives' | 'empty';

/**
 * An AUC with its DeLong variance, or the reason it is undefined. `m` positives, `n` negatives.
 * With m = 1 or n = 1 the estimate exists but the variance does not (a sample variance of one placement
 * value is 0/0): se, variance and the interval are then null — pROC returns NA for var() and ci.auc() there.
 */
export type AucResult =
  | {
      estimate: number;
      se: number | null;
      variance: number | null;
      ciLow: number | null;
      ciHigh: number | null;
      m: number;
      n: number;
    }
  | { estimate: null; reason: AucUndefinedReason; m: number; n: number };

/**
 * Midranks (1-based ranks, ties get the average of the ranks they span) of `values`, by one sort.
 * Throws on NaN, which has no rank.
 */
export function midranks(values: ArrayLike<number>): Float64Array {
  const len = values.length;
  const order = new Uint32Array(len);
  for (let i = 0; i < len; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`midranks: value ${i} is NaN`);
    order[i] = i;
  }
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Float64Array(len);
  let i = 0;
  while (i < len) {
    let j = i + 1;
    const v = values[order[i] as number] as number;
    while (j < len && values[order[j] as number] === v) j++;
    // positions i..j-1 hold ranks i+1..j; their mean is (i + 1 + j)/2
    const r = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) ranks[order[k] as number] = r;
    i = j;
  }
  return ranks;
}

/**
 * DeLong's structural components ("placement values"): for positive i, V10_i = fraction of negatives
 * scored below it (ties ½); for negative j, V01_j = fraction of positives scored above it (ties ½).
 * By Sun & Xu: V10_i = (Tz_i − Tx_i)/n, V01_j = 1 − (Tz_j − Ty_j)/m with Tz the midranks in the pooled
 * sample, Tx within positives, Ty within negatives; AUC = (Σ_{i∈pos} Tz_i − m(m+1)/2)/(m·n) = mean(V10).
 * These are what a paired DeLong comparison needs (covariances of V10 and of V01 across two models
 * scored on the same cases, in the same case order). `auc` is NaN when m or n is 0.
 */
export function delongComponents(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { auc: number; v10: Float64Array; v01: Float64Array; m: number; n: number } {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const y = labels[i];
    if (y === 1) pos.push(scores[i] as number);
    else if (y === 0) neg.push(scores[i] as number);
    else throw new RangeError(`label ${i} is ${y}; labels must be 0 or 1`);
  }
  const m = pos.length;
  const n = neg.length;
  // Pooled sample with positives first, so pooled index i < m is positive i.
  const tz = midranks([...pos, ...neg]);
  const tx = midranks(pos);
  const ty = midranks(neg);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let sumTzPos = 0;
  for (let i = 0; i < m; i++) {
    const t = tz[i] as number;
    sumTzPos += t;
    v10[i] = (t - (tx[i] as number)) / n;
  }
  for (let j = 0; j < n; j++) v01[j] = 1 - ((tz[m + j] as number) - (ty[j] as number)) / m;
  const auc = m > 0 && n > 0 ? (sumTzPos - (m * (m + 1)) / 2) / (m * n) : Number.NaN;
  return { auc, v10, v01, m, n };
}

/**
 * Assembles an AucResult from an AUC and DeLong's S10, S01 (sample variances of V10 and V01, null when
 * m < 2 or n < 2): Var = S10/m + S01/n; CI = AUC ± z·SE clipped to [0, 1], as pROC's ci.auc(method="delong").
 */
export function aucResult(
  auc: number,
  s10: number | null,
  s01: number | null,
  m: number,
  n: number,
  level: number,
): AucResult {
  const z = zCritical(level);
  if (s10 === null || s01 === null)
    return { estimate: auc, se: null, variance: null, ciLow: null, ciHigh: null, m, n };
  const variance = s10 / m + s01 / n;
  const se = Math.sqrt(variance);
  return {
    estimate: auc,
    se,
    variance,
    ciLow: Math.max(0, auc - z * se),
    ciHigh: Math.min(1, auc + z * se),
    m,
    n,
  };
}

/** The reason an AUC is undefined for m positives and n negatives, or null when it is defined. */
export function aucUndefinedReason(m: number, n: number): AucUndefinedReason | null {
  if (m === 0 && n === 0) return 'empty';
  if (m === 0) return 'no-positives';
  if (n === 0) return 'no-negatives';
  return null;
}

/** Sample variance Σ(v − mean)²/(len − 1) about a known mean; null when len < 2. */
function sampleVariance(values: Float64Array, mean: number): number | null {
  if (values.length < 2) return null;
  let s = 0;
  for (const v of values) s += (v - mean) * (v - mean);
  return s / (values.length - 1);
}

/**
 * Empirical AUC of `scores` for 0/1 `labels` (Mann–Whitney, ties ½) with DeLong's variance
 * Var = var(V10)/m + var(V01)/n (sample variances) and a normal `level` interval on the AUC scale clipped to
 * [0, 1] — pROC's auc(), var() and ci.auc(method = "delong") with direction "<".
 * Undefined (estimate null with a reason) without positives or negatives; se/CI null when m or n is 1.
 */
export function delongAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, level = 0.95): AucResult {
  const { auc, v10, v01, m, n } = delongComponents(scores, labels);
  const reason = aucUndefinedReason(m, n);
  if (reason) return { estimate: null, reason, m, n };
  // The placement means equal the AUC exactly in real arithmetic; their own means are used so the sums of
  // squares are centred as tightly as floating point allows (as R's var() does).
  const mean10 = v10.reduce((s, v) => s + v, 0) / m;
  const mean01 = v01.reduce((s, v) => s + v, 0) / n;
  return aucResult(auc, sampleVariance(v10, mean10), sampleVariance(v01, mean01), m, n, level);
}
