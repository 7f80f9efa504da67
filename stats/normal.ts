/**
 * The standard normal distribution: cumulative distribution function and quantile function.
 * Pure, dependency-free; accurate to a few units in the last place (checked against R's pnorm/qnorm).
 */

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * exp(-z²) without the relative error that rounding z² would cause for large z (up to ~1e-13 at z = 27):
 * z is split into a part with few mantissa bits, whose square is exact, and the remainder.
 */
function expMinusSquare(z: number): number {
  const zh = Math.trunc(z * 16) / 16;
  const zl = z - zh;
  return Math.exp(-zh * zh) * Math.exp(-zl * (z + zh));
}

/** e^{−x²/2}, with x split the same way as in expMinusSquare. */
function expMinusHalfSquare(x: number): number {
  const xh = Math.trunc(x * 16) / 16;
  const xl = x - xh;
  return Math.exp((-xh * xh) / 2) * Math.exp((-xl * (x + xh)) / 2);
}

/** Below this, erfc uses the series for erf; above, the continued fraction. */
const SERIES_LIMIT = 0.7;

/** erf(z) for 0 <= z < SERIES_LIMIT by the everywhere-positive series 2/√π·e^{−z²}·Σ (2z²)ⁿ z/(1·3·…·(2n+1)) (A&S 7.1.6). */
function erfSeries(z: number): number {
  const twoZ2 = 2 * z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= twoZ2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return 2 * INV_SQRT_PI * expMinusSquare(z) * sum;
}

/**
 * erfc(z)·e^{z²} for z >= SERIES_LIMIT by the Laplace continued fraction
 * erfc(z) = e^{−z²}/√π · 1/(z + ½/(z + 1/(z + 3/2/(z + …)))) (A&S 7.1.14), modified Lentz evaluation.
 * Returned without the exponential so callers can form it from the unrounded argument.
 */
function erfcScaled(z: number): number {
  const tiny = 1e-300;
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = z + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = z + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return INV_SQRT_PI / f;
}

/** erfc(z) for z >= 0, keeping full relative accuracy in the upper tail. */
function erfcNonNegative(z: number): number {
  if (z < SERIES_LIMIT) return 1 - erfSeries(z);
  if (z > 27.3) return 0; // below the smallest subnormal double
  return expMinusSquare(z) * erfcScaled(z);
}

/** Complementary error function erfc(z) = 1 − erf(z), for any real z (A&S 7.1.6 / 7.1.14). */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return z >= 0 ? erfcNonNegative(z) : 2 - erfcNonNegative(-z);
}

/**
 * Standard normal CDF Φ(x) = ½·erfc(−x/√2). Full relative accuracy in the lower tail
 * (Φ(−37) ≈ 5.7e−300 is still right); Φ(x) for x > 8.3 rounds to 1.
 */
export function pnorm(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return 1;
  if (x === Number.NEGATIVE_INFINITY) return 0;
  const z = -x * SQRT1_2;
  if (z < SERIES_LIMIT) return 0.5 * erfc(z);
  if (x < -38.5) return 0;
  // The exponential is formed from x itself: rounding x/√2 and squaring would cost x²·1e−16 relative.
  return 0.5 * expMinusHalfSquare(x) * erfcScaled(z);
}

// Wichura's AS 241 (PPND16) coefficients, highest degree first, exactly as published: the extra digits are
// kept so they can be checked against the paper, though JavaScript rounds them to the nearest double.
// biome-ignore-start lint/correctness/noPrecisionLoss: published constants, compared digit for digit
const A = [
  2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
  13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608,
];
const B = [
  5226.495278852545925, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
  5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1,
];
const C = [
  7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258,
  3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734,
];
const D = [
  1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459,
  0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1,
];
const E = [
  2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093,
  0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772,
];
const F = [
  2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
  0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1,
];
// biome-ignore-end lint/correctness/noPrecisionLoss: published constants, compared digit for digit

function horner(coef: readonly number[], r: number): number {
  let v = 0;
  for (const c of coef) v = v * r + c;
  return v;
}

/**
 * Standard normal quantile Φ⁻¹(p), by Wichura's algorithm AS 241 (PPND16, Applied Statistics 37:477, 1988),
 * relative accuracy about 1e−16. qnorm(0) = −∞, qnorm(1) = +∞, NaN outside [0, 1].
 */
export function qnorm(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * horner(A, r)) / horner(B, r);
  }
  // Tails: rational functions of r = √(−ln min(p, 1 − p)), split at r = 5.
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let val: number;
  if (r <= 5) {
    r -= 1.6;
    val = horner(C, r) / horner(D, r);
  } else {
    r -= 5;
    val = horner(E, r) / horner(F, r);
  }
  return q < 0 ? -val : val;
}

/** The two-sided critical value z such that a `level` interval is estimate ± z·se (1.959963984540054 for 0.95). */
export function zCritical(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  return qnorm(1 - (1 - level) / 2);
}
