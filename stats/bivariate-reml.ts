/**
 * The restricted likelihood of the bivariate random-effects model and its maximisation (the model and the
 * method are described in bivariate.ts). Everything here works site by site on scalars held in typed arrays:
 * a comparison fits hundreds of these models, and the per-site 2×2 algebra is written out in closed form so
 * that an evaluation allocates nothing per site.
 */

/** Symmetric 2×2 matrix [[m11, m12], [m12, m22]] stored as [m11, m12, m22]. */
export type Sym = [number, number, number];

/** The sites' logits and within-site variances, with scratch space for the per-site weights and residuals. */
export interface RemlData {
  k: number;
  y1: Float64Array;
  y2: Float64Array;
  v1: Float64Array;
  v2: Float64Array;
  /** W_i = V_i⁻¹ = [[w11, w12], [w12, w22]] and u_i = W_i (y_i − μ̂), rewritten by every evaluation. */
  w11: Float64Array;
  w12: Float64Array;
  w22: Float64Array;
  u1: Float64Array;
  u2: Float64Array;
}

export function remlData(
  y1: ArrayLike<number>,
  v1: ArrayLike<number>,
  y2: ArrayLike<number>,
  v2: ArrayLike<number>,
): RemlData {
  const k = y1.length;
  const scratch = () => new Float64Array(k);
  return {
    k,
    y1: Float64Array.from(y1),
    y2: Float64Array.from(y2),
    v1: Float64Array.from(v1),
    v2: Float64Array.from(v2),
    w11: scratch(),
    w12: scratch(),
    w22: scratch(),
    u1: scratch(),
    u2: scratch(),
  };
}

export interface RemlEval {
  ll: number;
  mu: [number, number];
  /** (Σ W_i)⁻¹ = Cov(μ̂). */
  B: Sym;
  /** Gradient and observed Hessian in (σ11, σ12, σ22); only when derivatives were asked for. */
  g?: [number, number, number];
  H?: number[][];
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Restricted log-likelihood at Σ = [[s11, s12], [s12, s22]], with μ profiled out, and optionally its gradient
 * and observed Hessian in (s11, s12, s22). With P = V⁻¹ − V⁻¹X(X′V⁻¹X)⁻¹X′V⁻¹ and V_j = ∂V/∂σ_j
 * (block-diagonal copies of E_j): ∂ℓ/∂σ_j = −½ tr(PV_j) + ½ y′PV_jPy and
 * ∂²ℓ/∂σ_j∂σ_l = ½ tr(PV_jPV_l) − y′PV_jPV_lPy (V is linear in σ), evaluated block by block: P's (i, m)
 * block is W_i δ_im − W_i B W_m with W_i = V_i⁻¹ and B = (Σ W_i)⁻¹. Null where some V_i or Σ W_i is not
 * positive definite.
 */
export function evaluate(d: RemlData, sigma: Sym, derivatives: boolean): RemlEval | null {
  const k = d.k;
  let logDetV = 0;
  let a11 = 0;
  let a12 = 0;
  let a22 = 0;
  let wy1 = 0;
  let wy2 = 0;
  for (let i = 0; i < k; i++) {
    const V11 = (d.v1[i] as number) + sigma[0];
    const V22 = (d.v2[i] as number) + sigma[2];
    const det = V11 * V22 - sigma[1] * sigma[1];
    if (!(det > 0) || !(V11 > 0)) return null;
    logDetV += Math.log(det);
    const p = V22 / det;
    const q = -sigma[1] / det;
    const r = V11 / det;
    d.w11[i] = p;
    d.w12[i] = q;
    d.w22[i] = r;
    a11 += p;
    a12 += q;
    a22 += r;
    const y1 = d.y1[i] as number;
    const y2 = d.y2[i] as number;
    wy1 += p * y1 + q * y2;
    wy2 += q * y1 + r * y2;
  }
  const detA = a11 * a22 - a12 * a12;
  if (!(detA > 0)) return null;
  const B: Sym = [a22 / detA, -a12 / detA, a11 / detA];
  const mu: [number, number] = [B[0] * wy1 + B[1] * wy2, B[1] * wy1 + B[2] * wy2];
  let rss = 0;
  for (let i = 0; i < k; i++) {
    const r1 = (d.y1[i] as number) - mu[0];
    const r2 = (d.y2[i] as number) - mu[1];
    const u1 = (d.w11[i] as number) * r1 + (d.w12[i] as number) * r2;
    const u2 = (d.w12[i] as number) * r1 + (d.w22[i] as number) * r2;
    d.u1[i] = u1;
    d.u2[i] = u2;
    rss += r1 * u1 + r2 * u2;
  }
  const ll = -0.5 * (2 * k - 2) * LOG_2PI + Math.log(k) - 0.5 * logDetV - 0.5 * Math.log(detA) - 0.5 * rss;
  if (!derivatives) return { ll, mu, B };
  const { g, H } = remlDerivatives(d, B);
  return { ll, mu, B, g, H };
}

/** Index of the pair (j, l), j ≤ l, of the three variance components. */
const PAIRS: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, 1],
  [0, 2],
  [1, 1],
  [1, 2],
  [2, 2],
];

/**
 * The sums over sites that the gradient and Hessian need, from W_i = [[p, q], [q, r]] and u_i as evaluate
 * left them, with E_0 = [[1, 0], [0, 0]], E_1 = [[0, 1], [1, 0]], E_2 = [[0, 0], [0, 1]]:
 *  - C_j = Σ W_i E_j W_i, s_j = Σ W_i E_j u_i, the traces Σ tr(W_i E_j) and Σ u_i′E_j u_i,
 *  - N_jl = Σ W_i E_j W_i E_l W_i, of which only tr(B N_jl) is needed (kept as (n11, n12 + n21, n22)),
 *  - q_jl = Σ (E_j u_i)′ W_i (E_l u_i).
 * Every one of them is a fixed combination of sums of monomials in (p, q, r, u1, u2) — quadratic and cubic
 * in W — so the loop over sites only accumulates those monomials. Then
 * ½ tr(PV_jPV_l) = ½ [tr(B C_j B C_l) + tr(C_j E_l) − 2 tr(B N_jl)] (the two cross terms
 * tr(W E_j W B W E_l) and tr(W B W E_j W E_l) are equal by symmetry) and y′PV_jPV_lPy = q_jl − s_j′ B s_l.
 */
function remlDerivatives(d: RemlData, B: Sym): { g: [number, number, number]; H: number[][] } {
  let [sp, sq, sr, pp, pq, qq, pr, qr, rr] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  let [ppp, ppq, ppr, pqq, pqr, prr, qqq, qqr, qrr, rrr] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  let [pu1, qu1, ru1, pu2, qu2, ru2, u11, u12, u22] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  let [pU11, qU11, rU11, pU12, qU12, rU12, pU22, qU22, rU22] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < d.k; i++) {
    const p = d.w11[i] as number;
    const q = d.w12[i] as number;
    const r = d.w22[i] as number;
    const u1 = d.u1[i] as number;
    const u2 = d.u2[i] as number;
    sp += p;
    sq += q;
    sr += r;
    pp += p * p;
    pq += p * q;
    qq += q * q;
    pr += p * r;
    qr += q * r;
    rr += r * r;
    ppp += p * p * p;
    ppq += p * p * q;
    ppr += p * p * r;
    pqq += p * q * q;
    pqr += p * q * r;
    prr += p * r * r;
    qqq += q * q * q;
    qqr += q * q * r;
    qrr += q * r * r;
    rrr += r * r * r;
    pu1 += p * u1;
    qu1 += q * u1;
    ru1 += r * u1;
    pu2 += p * u2;
    qu2 += q * u2;
    ru2 += r * u2;
    const a11 = u1 * u1;
    const a12 = u1 * u2;
    const a22 = u2 * u2;
    u11 += a11;
    u12 += a12;
    u22 += a22;
    pU11 += p * a11;
    qU11 += q * a11;
    rU11 += r * a11;
    pU12 += p * a12;
    qU12 += q * a12;
    rU12 += r * a12;
    pU22 += p * a22;
    qU22 += q * a22;
    rU22 += r * a22;
  }
  // C_j as (c11, c12, c22) at 3j; s_j as (s1, s2) at 2j; N and q per pair (j, l) in PAIRS order.
  const C = [pp, pq, qq, 2 * pq, qq + pr, 2 * qr, qq, qr, rr];
  const s = [pu1, qu1, qu1 + pu2, ru1 + qu2, qu2, ru2];
  const N = [
    ...[ppp, 2 * ppq, pqq],
    ...[2 * ppq, ppr + 3 * pqq, pqr + qqq],
    ...[pqq, pqr + qqq, qqr],
    ...[3 * pqq + ppr, 6 * pqr + 2 * qqq, 3 * qqr + prr],
    ...[qqq + pqr, 3 * qqr + prr, 2 * qrr],
    ...[qqr, 2 * qrr, rrr],
  ];
  const Q = [pU11, pU12 + qU11, qU12, pU22 + 2 * qU12 + rU11, qU22 + rU12, rU22];
  return assemble(B, C, s, [sp, 2 * sq, sr], [u11, 2 * u12, u22], N, Q);
}

/** tr(X Y) of two symmetric matrices stored as (m11, m12, m22) at offsets. */
function trSym(x: ArrayLike<number>, i: number, y: ArrayLike<number>, j: number): number {
  return (
    (x[i] as number) * (y[j] as number) +
    2 * (x[i + 1] as number) * (y[j + 1] as number) +
    (x[i + 2] as number) * (y[j + 2] as number)
  );
}

/** B C_j as a general 2×2 matrix, row major. */
function bc(B: Sym, C: readonly number[], j: number): [number, number, number, number] {
  const c11 = C[3 * j] as number;
  const c12 = C[3 * j + 1] as number;
  const c22 = C[3 * j + 2] as number;
  return [B[0] * c11 + B[1] * c12, B[0] * c12 + B[1] * c22, B[1] * c11 + B[2] * c12, B[1] * c12 + B[2] * c22];
}

function assemble(
  B: Sym,
  C: readonly number[],
  s: readonly number[],
  trWE: readonly number[],
  uEu: readonly number[],
  N: readonly number[],
  Q: readonly number[],
): { g: [number, number, number]; H: number[][] } {
  const g: [number, number, number] = [0, 0, 0];
  const BC = [bc(B, C, 0), bc(B, C, 1), bc(B, C, 2)];
  for (let j = 0; j < 3; j++) {
    const trPV = (trWE[j] as number) - trSym(B, 0, C, 3 * j);
    g[j] = -0.5 * trPV + 0.5 * (uEu[j] as number);
  }
  const H: number[][] = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let m = 0; m < 6; m++) {
    const [j, l] = PAIRS[m] as readonly [number, number];
    const x = BC[j] as number[];
    const y = BC[l] as number[];
    const trBCBC =
      (x[0] as number) * (y[0] as number) +
      (x[1] as number) * (y[2] as number) +
      (x[2] as number) * (y[1] as number) +
      (x[3] as number) * (y[3] as number);
    // tr(C_j E_l): E_0 picks c11, E_1 twice c12, E_2 c22.
    const trCE = l === 1 ? 2 * (C[3 * j + 1] as number) : (C[3 * j + l] as number);
    const trBN =
      B[0] * (N[3 * m] as number) + B[1] * (N[3 * m + 1] as number) + B[2] * (N[3 * m + 2] as number);
    const T = trBCBC + trCE - 2 * trBN;
    const sBs =
      (s[2 * j] as number) * (B[0] * (s[2 * l] as number) + B[1] * (s[2 * l + 1] as number)) +
      (s[2 * j + 1] as number) * (B[1] * (s[2 * l] as number) + B[2] * (s[2 * l + 1] as number));
    const h = 0.5 * T - ((Q[m] as number) - sBs);
    (H[j] as number[])[l] = h;
    (H[l] as number[])[j] = h;
  }
  return { g, H };
}
