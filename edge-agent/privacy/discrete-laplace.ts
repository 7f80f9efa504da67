import { randomInt } from 'node:crypto';

/**
 * Exact sampling from the discrete Laplace distribution, P(X = x) ∝ exp(−|x|/scale) on the integers, after
 * Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020), Algorithms 1–2.
 * Only integer arithmetic and uniform integers from the OS CSPRNG are used: floating-point samplers leak
 * through the gaps in their output (Mironov, CCS 2012). Adding it to a count of sensitivity 1 with
 * scale = 1/ε gives ε-differential privacy.
 */

/** A positive rational number n/d (integers, d > 0). */
export interface Rational {
  n: number;
  d: number;
}

type Random = (maxExclusive: number) => number;
const cryptoRandom: Random = (max) => randomInt(max);

/** Bernoulli(n/d) for 0 ≤ n ≤ d. */
function bernoulli(n: number, d: number, random: Random): boolean {
  return random(d) < n;
}

/** Bernoulli(exp(−n/d)) for n/d ≥ 0, exactly (CKS Algorithm 1). */
export function bernoulliExpMinus(n: number, d: number, random: Random = cryptoRandom): boolean {
  if (n > d) {
    for (let i = 0; i < Math.floor(n / d); i++) if (!bernoulliExpMinus(1, 1, random)) return false;
    return bernoulliExpMinus(n % d, d, random);
  }
  // γ = n/d ∈ [0,1]: count k until Bernoulli(γ/k) fails; exp(−γ) is the probability that k ends odd.
  let k = 1;
  while (bernoulli(n, d * k, random)) k++;
  return k % 2 === 1;
}

/** One sample of the discrete Laplace with scale t/s (CKS Algorithm 2); e.g. scale 1/ε with ε = s/t. */
export function sampleDiscreteLaplace(scale: Rational, random: Random = cryptoRandom): number {
  const { n: t, d: s } = scale;
  if (!Number.isInteger(t) || !Number.isInteger(s) || t < 1 || s < 1)
    throw new RangeError('scale must be a positive rational');
  for (;;) {
    const u = random(t);
    if (!bernoulliExpMinus(u, t, random)) continue;
    let v = 0;
    while (bernoulliExpMinus(1, 1, random)) v++;
    const y = Math.floor((u + t * v) / s);
    const negative = bernoulli(1, 2, random);
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/**
 * ε as a rational with a bounded denominator, so budgets like 0.5 or 1.25 are represented exactly. Never
 * rounds up: a larger ε than the one booked would mean less noise than the ledger pays for (0.0015 → 0.001).
 */
export function epsilonToRational(epsilon: number): Rational {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError('ε must be a positive number');
  const d = 1000;
  let n = Math.round(epsilon * d);
  // Math.round may go up by up to half a step; allow only the float error of `epsilon * d` itself.
  if (n > epsilon * d * (1 + 1e-12)) n--;
  if (n < 1) throw new RangeError('ε is too small to represent (minimum 0.001)');
  const g = gcd(n, d);
  return { n: n / g, d: d / g };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
