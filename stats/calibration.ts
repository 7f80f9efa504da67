/**
 * Calibration of predicted probabilities against 0/1 outcomes: Brier score, expected calibration error,
 * calibration intercept (calibration-in-the-large) and calibration slope (Van Calster et al., J Clin Epidemiol
 * 74:167, 2016; BMC Med 17:230, 2019). Hosmer–Lemeshow is deliberately not offered.
 */
import { expit } from './meta.ts';

export type CalibrationReason =
  | 'empty'
  | 'not-probabilities'
  | 'no-positives'
  | 'no-negatives'
  | 'constant-score'
  | 'separation';

/**
 * brier/ece are null only for no cases or scores outside [0, 1]; intercept is null also without both
 * classes; slope also when logit(p) is constant or separates the classes (no finite MLE). The nulls are
 * nested, so the single `reason` names why every null field is null.
 */
export interface CalibrationResult {
  brier: number | null;
  ece: number | null;
  intercept: number | null;
  slope: number | null;
  reason?: CalibrationReason;
}

/** Probabilities are clipped to [EPS, 1 − EPS] before the logit, so p = 0 or 1 has a finite logit (±27.6). */
export const CALIBRATION_LOGIT_EPS = 1e-12;
/** The ECE bins: 10 equal-width bins [b/10, (b+1)/10), the last one closed. */
export const ECE_BINS = 10;

/** Brier score mean((p − y)²) (Brier 1950); sklearn.metrics.brier_score_loss. */
export function brierScore(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += ((p[i] as number) - (y[i] as number)) ** 2;
  return s / p.length;
}

/**
 * Expected calibration error over `bins` equal-width bins on [0, 1] (Naeini et al. 2015; Guo et al. 2017):
 * Σ_b (n_b/N)·|ȳ_b − p̄_b|, bin b holding b/B <= p < (b+1)/B (p = 1 in the last bin); empty bins add 0.
 */
export function expectedCalibrationError(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  bins = ECE_BINS,
): number {
  const cnt = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  for (let i = 0; i < p.length; i++) {
    const v = p[i] as number;
    let b = Math.min(bins - 1, Math.floor(v * bins));
    // floor(v·B) can round across an edge; settle it against the edges b/B themselves.
    while (b > 0 && v < b / bins) b--;
    while (b < bins - 1 && v >= (b + 1) / bins) b++;
    cnt[b] = (cnt[b] as number) + 1;
    sp[b] = (sp[b] as number) + v;
    sy[b] = (sy[b] as number) + (y[i] as number);
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const c = cnt[b] as number;
    if (c > 0) ece += (c / p.length) * Math.abs((sy[b] as number) / c - (sp[b] as number) / c);
  }
  return ece;
}

/** logit(p) with p clipped to [CALIBRATION_LOGIT_EPS, 1 − CALIBRATION_LOGIT_EPS]. */
export function clippedLogit(p: number): number {
  const q = Math.min(1 - CALIBRATION_LOGIT_EPS, Math.max(CALIBRATION_LOGIT_EPS, p));
  return Math.log(q / (1 - q));
}

/**
 * Calibration-in-the-large: the MLE of α in logit P(y = 1) = α + logit(p) (logit(p) as an offset), by Newton's
 * method on the concave log-likelihood (score Σ(y − expit(α + x)), information Σ π(1 − π)) with a bisection
 * safeguard. Finite iff both classes are present. As statsmodels GLM(y, ones, Binomial, offset=logit(p)).
 */
function calibrationIntercept(x: Float64Array, y: ArrayLike<number>): number {
  let lo = -1;
  let hi = 1;
  const score = (a: number) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += (y[i] as number) - expit(a + (x[i] as number));
    return s;
  };
  while (score(lo) < 0) lo *= 2;
  while (score(hi) > 0) hi *= 2;
  let a = 0;
  for (let iter = 0; iter < 200; iter++) {
    let s = 0;
    let info = 0;
    for (let i = 0; i < x.length; i++) {
      const pi = expit(a + (x[i] as number));
      s += (y[i] as number) - pi;
      info += pi * (1 - pi);
    }
    if (s > 0) lo = Math.max(lo, a);
    else hi = Math.min(hi, a);
    let next = info > 0 ? a + s / info : Number.NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - a) <= 1e-14 * Math.max(1, Math.abs(a))) return next;
    a = next;
  }
  return a;
}

/**
 * Calibration slope: the MLE of β in logit P(y = 1) = α + β·logit(p), by Newton–Raphson (IRLS) on the 2×2
 * system with step halving whenever the log-likelihood would drop, converged to 1e−13 relative. As the
 * coefficient of logit(p) in statsmodels GLM(y, [1, logit(p)], Binomial).
 */
function calibrationSlope(x: Float64Array, y: ArrayLike<number>): number {
  const loglik = (a: number, b: number) => {
    let ll = 0;
    for (let i = 0; i < x.length; i++) {
      const eta = a + b * (x[i] as number);
      // log(1 + e^eta) without overflow
      const l1p = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
      ll += (y[i] as number) * eta - l1p;
    }
    return ll;
  };
  let a = 0;
  let b = 1;
  let ll = loglik(a, b);
  for (let iter = 0; iter < 500; iter++) {
    let g0 = 0;
    let g1 = 0;
    let h00 = 0;
    let h01 = 0;
    let h11 = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number;
      const pi = expit(a + b * xi);
      const r = (y[i] as number) - pi;
      const w = pi * (1 - pi);
      g0 += r;
      g1 += r * xi;
      h00 += w;
      h01 += w * xi;
      h11 += w * xi * xi;
    }
    const det = h00 * h11 - h01 * h01;
    if (!(det > 0)) break;
    let da = (h11 * g0 - h01 * g1) / det;
    let db = (h00 * g1 - h01 * g0) / det;
    let next = loglik(a + da, b + db);
    for (let h = 0; h < 60 && next < ll; h++) {
      da /= 2;
      db /= 2;
      next = loglik(a + da, b + db);
    }
    a += da;
    b += db;
    ll = next;
    if (Math.abs(db) <= 1e-13 * Math.max(1, Math.abs(b)) && Math.abs(da) <= 1e-13 * Math.max(1, Math.abs(a)))
      break;
  }
  return b;
}

/**
 * Brier score, ECE (10 equal-width bins), calibration intercept (calibration-in-the-large, logit(p) as an
 * offset) and calibration slope (coefficient of logit(p) in a logistic regression of y on logit(p)), after
 * Van Calster et al. 2016/2019 (STATISTICS.md). `p` must be probabilities in [0, 1]; they are clipped to
 * [1e−12, 1 − 1e−12] for the logit only. Degenerate input gives nulls with a reason, never NaN.
 */
export function calibration(p: ArrayLike<number>, y: ArrayLike<number>): CalibrationResult {
  const len = p.length;
  if (len !== y.length) throw new RangeError(`p (${len}) and y (${y.length}) differ in length`);
  if (len === 0) return { brier: null, ece: null, intercept: null, slope: null, reason: 'empty' };
  let m = 0;
  for (let i = 0; i < len; i++) {
    const v = p[i] as number;
    if (Number.isNaN(v)) throw new RangeError(`probability ${i} is NaN`);
    const yi = y[i];
    if (yi === 1) m++;
    else if (yi !== 0) throw new RangeError(`label ${i} is ${yi}; labels must be 0 or 1`);
  }
  for (let i = 0; i < len; i++) {
    const v = p[i] as number;
    if (!(v >= 0 && v <= 1))
      return { brier: null, ece: null, intercept: null, slope: null, reason: 'not-probabilities' };
  }
  const brier = brierScore(p, y);
  const ece = expectedCalibrationError(p, y);
  if (m === 0 || m === len)
    return { brier, ece, intercept: null, slope: null, reason: m === 0 ? 'no-positives' : 'no-negatives' };
  const x = new Float64Array(len);
  let minPos = Number.POSITIVE_INFINITY;
  let maxPos = Number.NEGATIVE_INFINITY;
  let minNeg = Number.POSITIVE_INFINITY;
  let maxNeg = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < len; i++) {
    const xi = clippedLogit(p[i] as number);
    x[i] = xi;
    if (y[i] === 1) {
      minPos = Math.min(minPos, xi);
      maxPos = Math.max(maxPos, xi);
    } else {
      minNeg = Math.min(minNeg, xi);
      maxNeg = Math.max(maxNeg, xi);
    }
  }
  const intercept = calibrationIntercept(x, y);
  if (Math.min(minPos, minNeg) === Math.max(maxPos, maxNeg))
    return { brier, ece, intercept, slope: null, reason: 'constant-score' };
  // One-dimensional (quasi-)complete separation: no finite maximum likelihood slope exists.
  if (maxNeg <= minPos || maxPos <= minNeg)
    return { brier, ece, intercept, slope: null, reason: 'separation' };
  return { brier, ece, intercept, slope: calibrationSlope(x, y) };
}
