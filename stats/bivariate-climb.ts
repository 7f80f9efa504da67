/**
 * The optimiser of the bivariate REML fit (bivariate.ts): a damped Newton (Levenberg–Marquardt) ascent on
 * ℓ_R in the Cholesky parameters θ = (a, b, c) of Σ = LL′, L = [[a, 0], [b, c]], on the analytic gradient and
 * observed Hessian of bivariate-reml.ts.
 */
import { evaluate, type RemlData, type Sym } from './bivariate-reml.ts';

/** Σ from the Cholesky parameters θ = (a, b, c), L = [[a, 0], [b, c]]. */
export function sigmaOf(t: readonly number[]): Sym {
  const a = t[0] as number;
  const b = t[1] as number;
  const c = t[2] as number;
  return [a * a, a * b, b * b + c * c];
}

/** Gradient and Hessian of ℓ_R in θ by the chain rule from those in σ. */
function thetaDerivatives(t: readonly number[], g: readonly number[], H: number[][]) {
  const a = t[0] as number;
  const b = t[1] as number;
  const c = t[2] as number;
  // J[m][p] = ∂σ_m/∂θ_p
  const J = [
    [2 * a, 0, 0],
    [b, a, 0],
    [0, 2 * b, 2 * c],
  ];
  const gt: [number, number, number] = [0, 0, 0];
  const Ht: [number, number, number][] = [];
  for (let p = 0; p < 3; p++) {
    for (let m = 0; m < 3; m++)
      gt[p] = (gt[p] as number) + (g[m] as number) * ((J[m] as number[])[p] as number);
    const row: [number, number, number] = [0, 0, 0];
    for (let q = 0; q < 3; q++) {
      let h = 0;
      for (let m = 0; m < 3; m++)
        for (let n = 0; n < 3; n++)
          h +=
            ((J[m] as number[])[p] as number) *
            ((H[m] as number[])[n] as number) *
            ((J[n] as number[])[q] as number);
      row[q] = h;
    }
    Ht.push(row);
  }
  const [g11, g12, g22] = g as [number, number, number];
  const [h0, h1, h2] = Ht as [[number, number, number], [number, number, number], [number, number, number]];
  h0[0] += 2 * g11;
  h0[1] += g12;
  h1[0] += g12;
  h1[1] += 2 * g22;
  h2[2] += 2 * g22;
  return { gt, Ht };
}

/** Solves the symmetric system M x = r by Cholesky; null when M is not positive definite. */
function solvePD(M: number[][], r: readonly number[]): number[] | null {
  const n = r.length;
  const L: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = (M[i] as number[])[j] as number;
      for (let p = 0; p < j; p++)
        sum -= ((L[i] as number[])[p] as number) * ((L[j] as number[])[p] as number);
      if (i === j) {
        if (!(sum > 0)) return null;
        (L[i] as number[])[i] = Math.sqrt(sum);
      } else {
        (L[i] as number[])[j] = sum / ((L[j] as number[])[j] as number);
      }
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let sum = r[i] as number;
    for (let p = 0; p < i; p++) sum -= ((L[i] as number[])[p] as number) * (z[p] as number);
    z[i] = sum / ((L[i] as number[])[i] as number);
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i] as number;
    for (let p = i + 1; p < n; p++) sum -= ((L[p] as number[])[i] as number) * (x[p] as number);
    x[i] = sum / ((L[i] as number[])[i] as number);
  }
  return x;
}

export interface Climb {
  theta: number[];
  ll: number;
  converged: boolean;
  iterations: number;
  gradient: number;
}

/**
 * Levenberg–Marquardt ascent on ℓ_R(θ): step δ = (−H + λI)⁻¹ g, accepted only if ℓ_R does not fall,
 * λ → λ/10 after an accepted step and ×10 after a refused one (λ = 0: the plain Newton step). Converged when
 * the largest gradient component is below `gtol`, or when ℓ_R no longer changes in the 14th digit and the
 * step is negligible (a flat likelihood, e.g. on a boundary where a parameter is not identified).
 */
export function climb(d: RemlData, start: number[], maxIter: number, gtol: number): Climb {
  let theta = start.slice();
  let cur = evaluate(d, sigmaOf(theta), true);
  if (cur === null)
    return { theta, ll: Number.NEGATIVE_INFINITY, converged: false, iterations: 0, gradient: Infinity };
  let lambda = 0;
  let gmax = Infinity;
  let flat = 0;
  for (let iter = 1; iter <= maxIter; iter++) {
    const { gt, Ht } = thetaDerivatives(theta, cur.g as number[], cur.H as number[][]);
    gmax = Math.max(...gt.map(Math.abs));
    if (gmax <= gtol) return { theta, ll: cur.ll, converged: true, iterations: iter - 1, gradient: gmax };
    const scale = Math.max(1e-12, ...Ht.map((row, i) => Math.abs(row[i] as number)));
    let accepted = false;
    for (let tries = 0; tries < 60 && !accepted; tries++) {
      const M = Ht.map((row, i) => row.map((h, j) => -h + (i === j ? lambda * scale : 0)));
      const step = solvePD(M, gt);
      if (step === null) {
        lambda = lambda === 0 ? 1e-8 : lambda * 10;
        continue;
      }
      const next = theta.map((t, i) => t + (step[i] as number));
      const ev = evaluate(d, sigmaOf(next), true);
      if (ev !== null && ev.ll >= cur.ll - 1e-13 * Math.abs(cur.ll)) {
        const gain = ev.ll - cur.ll;
        const stepSize = Math.max(...step.map(Math.abs));
        theta = next;
        cur = ev;
        accepted = true;
        lambda = lambda < 1e-10 ? 0 : lambda / 10;
        if (gain <= 1e-14 * Math.max(1, Math.abs(cur.ll)) && stepSize <= 1e-9) flat++;
        else flat = 0;
      } else {
        lambda = lambda === 0 ? 1e-8 : lambda * 10;
      }
    }
    if (!accepted || flat >= 3) {
      // No step raises ℓ_R any further: a maximum to machine precision if the gradient is small.
      const { gt: g2 } = thetaDerivatives(theta, cur.g as number[], cur.H as number[][]);
      gmax = Math.max(...g2.map(Math.abs));
      return { theta, ll: cur.ll, converged: gmax <= Math.sqrt(gtol), iterations: iter, gradient: gmax };
    }
  }
  return { theta, ll: cur.ll, converged: false, iterations: maxIter, gradient: gmax };
}
