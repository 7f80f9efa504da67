/**
 * Special functions behind the exact binomial interval: log-gamma, the regularized incomplete beta function
 * I_x(a, b) and its inverse in x.
 */

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(x) for x > 0. For x >= 10 the Stirling series with terms B_{2k}/(2k(2k−1)x^{2k−1}) up to k = 8
 * (error below 1e−17 relative there); smaller x are shifted up with Γ(x) = Γ(x + j)/(x(x+1)…(x+j−1)).
 */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x === 1 || x === 2) return 0;
  let shift = 0;
  let prod = 1;
  let y = x;
  while (y < 10) {
    prod *= y;
    y += 1;
  }
  if (prod !== 1) shift = Math.log(prod);
  const inv = 1 / y;
  const inv2 = inv * inv;
  const series =
    inv *
    (1 / 12 +
      inv2 *
        (-1 / 360 +
          inv2 *
            (1 / 1260 +
              inv2 *
                (-1 / 1680 +
                  inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 * (1 / 156 - (inv2 * 3617) / 122400)))))));
  return (y - 0.5) * Math.log(y) - y + HALF_LOG_2PI + series - shift;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * Continued fraction for I_x(a, b) (Abramowitz & Stegun 26.5.8), evaluated by the modified Lentz method;
 * converges quickly for x < (a + 1)/(a + b + 2).
 */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const eps = 1e-16;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    // even step: d_{2m} = m(b − m)x / ((a + 2m − 1)(a + 2m))
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // odd step: d_{2m+1} = −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1))
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < eps) return h;
  }
  throw new Error(`incomplete beta continued fraction did not converge (x=${x}, a=${a}, b=${b})`);
}

/**
 * Regularized incomplete beta function I_x(a, b) = B(x; a, b)/B(a, b) for a, b > 0, 0 <= x <= 1:
 * the Beta(a, b) CDF. Uses the continued fraction on whichever of x, 1 − x converges fast
 * (I_x(a, b) = 1 − I_{1−x}(b, a)).
 */
export function regIncBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`regIncBeta needs a, b > 0, got a=${a}, b=${b}`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) {
    return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  }
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * The p-quantile of Beta(a, b): the x in [0, 1] with I_x(a, b) = p. Bisection on the monotone CDF until the
 * bracket cannot shrink in floating point, so the result is as exact as I_x itself allows.
 */
export function qbeta(p: number, a: number, b: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`qbeta needs 0 <= p <= 1, got ${p}`);
  if (p === 0) return 0;
  if (p === 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 2200; i++) {
    // Bisect on the exponent first when the root is tiny, so quantiles like 1e−200 are reached quickly.
    const mid = lo === 0 && hi < 1e-3 ? hi / 1024 : 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (regIncBeta(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  // The root lies in [lo, hi], adjacent doubles; return whichever is closer in CDF.
  if (lo === 0) return hi;
  return Math.abs(regIncBeta(lo, a, b) - p) <= Math.abs(regIncBeta(hi, a, b) - p) ? lo : hi;
}
