/**
 * Area under the ROC curve with DeLong's variance (DeLong, DeLong & Clarke-Pearson 1988), computed by the
 * O(N log N) midrank algorithm of Sun & Xu (IEEE Signal Processing Letters 21:1389, 2014).
 * Convention: label 1 = positive (case), higher score = more likely positive, ties count ½
 * (pROC's roc(direction = "<")).
 */
import { pnorm, zCritical } from './normal.ts';

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

/**
 * Splits scores by 0/1 label into two typed arrays (positives, negatives); throws on NaN scores, other labels
 * or a length mismatch.
 */
function splitByLabel(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { pos: Float64Array; neg: Float64Array } {
  const len = scores.length;
  if (len !== labels.length) {
    throw new RangeError(`scores (${len}) and labels (${labels.length}) differ in length`);
  }
  let m = 0;
  for (let i = 0; i < len; i++) {
    const y = labels[i];
    if (y === 1) m++;
    else if (y !== 0) throw new RangeError(`label ${i} is ${y}; labels must be 0 or 1`);
    if (Number.isNaN(scores[i])) throw new RangeError(`score ${i} is NaN`);
  }
  const pos = new Float64Array(m);
  const neg = new Float64Array(len - m);
  let a = 0;
  let b = 0;
  for (let i = 0; i < len; i++) {
    if (labels[i] === 1) pos[a++] = scores[i] as number;
    else neg[b++] = scores[i] as number;
  }
  return { pos, neg };
}

/**
 * One merge walk over the sorted positives and negatives, visiting each distinct score once. A tie group of
 * `a` positives and `b` negatives at score s, with `negBelow` negatives and `posBelow` positives below s, has
 * placement values v10 = (negBelow + b/2)/n for its positives and v01 = (m − posBelow − a/2)/m for its
 * negatives (Sun & Xu's midrank identities, written with counts). Returns Σv10, Σv01 and the sums of squared
 * deviations from c10 and c01.
 */
function placementSums(pos: Float64Array, neg: Float64Array, c10: number, c01: number): number[] {
  const m = pos.length;
  const n = neg.length;
  let i = 0;
  let j = 0;
  let s10 = 0;
  let s01 = 0;
  let q10 = 0;
  let q01 = 0;
  while (i < m || j < n) {
    const pv = i < m ? (pos[i] as number) : Number.POSITIVE_INFINITY;
    const nv = j < n ? (neg[j] as number) : Number.POSITIVE_INFINITY;
    const v = i < m && (j >= n || pv <= nv) ? pv : nv;
    const i0 = i;
    const j0 = j;
    while (i < m && pos[i] === v) i++;
    while (j < n && neg[j] === v) j++;
    const a = i - i0;
    const b = j - j0;
    if (a > 0) {
      const v10 = (j0 + b / 2) / n;
      s10 += a * v10;
      q10 += a * (v10 - c10) * (v10 - c10);
    }
    if (b > 0) {
      const v01 = (m - i0 - a / 2) / m;
      s01 += b * v01;
      q01 += b * (v01 - c01) * (v01 - c01);
    }
  }
  return [s10, s01, q10, q01];
}

/**
 * Empirical AUC of `scores` for 0/1 `labels` (Mann–Whitney, ties ½) with DeLong's variance
 * Var = var(V10)/m + var(V01)/n (sample variances; DeLong, DeLong & Clarke-Pearson 1988) and a normal `level`
 * interval on the AUC scale clipped to [0, 1] — pROC's auc(), var() and ci.auc(method = "delong") with
 * direction "<". O(N log N) as Sun & Xu (2014): each class is copied into a Float64Array and sorted natively
 * once; the placement values then come from one linear merge walk over tie groups (no per-case arrays).
 * Undefined (estimate null with a reason) without positives or negatives; se/CI null when m or n is 1.
 */
export function delongAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, level = 0.95): AucResult {
  const { pos, neg } = splitByLabel(scores, labels);
  const m = pos.length;
  const n = neg.length;
  const reason = aucUndefinedReason(m, n);
  if (reason) return { estimate: null, reason, m, n };
  pos.sort();
  neg.sort();
  // First pass: the placement means (both equal the AUC in exact arithmetic); second: centred sums of
  // squares about those means, as R's var() centres.
  const [s10, s01] = placementSums(pos, neg, 0, 0) as [number, number];
  const auc = s10 / m;
  const mean01 = s01 / n;
  const [, , q10, q01] = placementSums(pos, neg, auc, mean01) as [number, number, number, number];
  return aucResult(auc, m > 1 ? q10 / (m - 1) : null, n > 1 ? q01 / (n - 1) : null, m, n, level);
}

export type PairedReason = AucUndefinedReason | 'too-few' | 'zero-variance';

/** Paired DeLong comparison of two AUCs on the same cases; see pairedDelong. */
export interface PairedDelongResult {
  aucA: number | null;
  aucB: number | null;
  /** aucA − aucB. */
  difference: number | null;
  /** √(L S Lᵀ), L = (1, −1). */
  se: number | null;
  z: number | null;
  /** Two-sided p-value 2Φ(−|z|). */
  p: number | null;
  /** S = S10/m + S01/n as [[Var A, Cov], [Cov, Var B]]. */
  covariance: [[number, number], [number, number]] | null;
  m: number;
  n: number;
  reason?: PairedReason;
}

function covariance(a: Float64Array, b: Float64Array): number {
  const len = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < len; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= len;
  mb /= len;
  let s = 0;
  for (let i = 0; i < len; i++) s += ((a[i] as number) - ma) * ((b[i] as number) - mb);
  return s / (len - 1);
}

/**
 * Paired comparison of two models scored on the same cases (DeLong, DeLong & Clarke-Pearson 1988):
 * θA, θB from the placement values; S10, S01 the 2×2 sample covariance matrices of (V10A, V10B) over the m
 * positives and of (V01A, V01B) over the n negatives; S = S10/m + S01/n; z = (θA − θB)/√(L S Lᵀ) with
 * L = (1, −1); p = 2Φ(−|z|). As pROC roc.test(method = "delong", paired = TRUE) with direction "<".
 * Defined answers, never NaN: one class missing → all null with that reason; m or n < 2 → AUCs and difference
 * only, reason 'too-few'; L S Lᵀ = 0 (e.g. two perfect models) → se 0, z and p null, reason 'zero-variance'.
 */
export function pairedDelong(
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  labels: ArrayLike<number>,
): PairedDelongResult {
  if (scoresA.length !== scoresB.length) {
    throw new RangeError(`scoresA (${scoresA.length}) and scoresB (${scoresB.length}) differ in length`);
  }
  const A = delongComponents(scoresA, labels);
  const B = delongComponents(scoresB, labels);
  const { m, n } = A;
  const none = {
    aucA: null,
    aucB: null,
    difference: null,
    se: null,
    z: null,
    p: null,
    covariance: null,
    m,
    n,
  };
  const reason = aucUndefinedReason(m, n);
  if (reason) return { ...none, reason };
  const difference = A.auc - B.auc;
  if (m < 2 || n < 2) return { ...none, aucA: A.auc, aucB: B.auc, difference, reason: 'too-few' };
  const vA = covariance(A.v10, A.v10) / m + covariance(A.v01, A.v01) / n;
  const vB = covariance(B.v10, B.v10) / m + covariance(B.v01, B.v01) / n;
  const cAB = covariance(A.v10, B.v10) / m + covariance(A.v01, B.v01) / n;
  const v = vA + vB - 2 * cAB;
  const base = {
    aucA: A.auc,
    aucB: B.auc,
    difference,
    covariance: [
      [vA, cAB],
      [cAB, vB],
    ] as [[number, number], [number, number]],
    m,
    n,
  };
  // Rounding can leave a tiny negative where the exact value is 0 (identical placement differences).
  if (!(v > 1e-300)) return { ...base, se: 0, z: null, p: null, reason: 'zero-variance' };
  const se = Math.sqrt(v);
  const z = difference / se;
  return { ...base, se, z, p: 2 * pnorm(-Math.abs(z)) };
}
