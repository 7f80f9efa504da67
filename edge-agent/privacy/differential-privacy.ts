import type { Auc } from '../../schemas/site-report.ts';
import { binnedAuc } from '../../stats/histogram.ts';
import { type FullSiteReport, proportion } from '../report/site-report.ts';
import { epsilonToRational, sampleDiscreteLaplace } from './discrete-laplace.ts';

/**
 * Differential privacy for a site report's outcome counts (optional, per site; off by default).
 *
 * Each study falls in exactly one confusion cell and in exactly one bin of its class's histogram, so each of
 * the two releases has sensitivity 1 (parallel composition over the cells, resp. the bins), and together they
 * cost ε = ε_confusion + ε_histogram (sequential composition). Discrete Laplace noise with scale 1/ε_part is
 * added to every cell and bin (exact integer sampler, ./discrete-laplace.ts), then only post-processing
 * follows, which costs nothing more: negative counts become 0, the class totals are taken from the noisy
 * confusion cells, the noisy histogram is rescaled to those totals (largest remainders), and sensitivity,
 * specificity, PPV, NPV (Wilson) and the AUC (exact for the binned, noisy histogram) are recomputed from the
 * released counts. Calibration, subgroups and the paired comparison need per-case data, so they are not
 * released under DP.
 *
 * Not covered: the image and exclusion counts describe files, not patients, and a study can have any number
 * of images, so they have no bounded sensitivity; they stay plain counts under the minimum-cell rules.
 */
export interface DifferentialPrivacyOptions {
  /** ε for this report, split between the confusion cells and the histograms. */
  epsilon: number;
  /** Uniform integer in [0, max); the OS CSPRNG unless a test injects a seeded one. */
  random?: (maxExclusive: number) => number;
}

/**
 * Noise is added to the full report only (the gate's class rule and cell rules run on the noisy counts
 * afterwards): a null count means suppression already ran, and noising what is left would not compose.
 */
export function applyDifferentialPrivacy(
  report: FullSiteReport,
  opts: DifferentialPrivacyOptions,
): FullSiteReport {
  const epsConfusion = opts.epsilon / 2;
  const epsHistogram = opts.epsilon - epsConfusion;
  const noisy = (count: number | null, eps: number) => {
    if (count === null) throw new RangeError('differential privacy is applied before suppression');
    const r = epsilonToRational(eps);
    return Math.max(0, count + sampleDiscreteLaplace({ n: r.d, d: r.n }, opts.random));
  };
  const c = report.confusion;
  const tp = noisy(c.tp, epsConfusion);
  const fn = noisy(c.fn, epsConfusion);
  const fp = noisy(c.fp, epsConfusion);
  const tn = noisy(c.tn, epsConfusion);
  const positives = tp + fn;
  const negatives = fp + tn;
  const cases = positives + negatives;
  const none = cases === 0;

  const histPositives = rescale(
    report.histogram.positives.map((v) => noisy(v, epsHistogram)),
    positives,
  );
  const histNegatives = rescale(
    report.histogram.negatives.map((v) => noisy(v, epsHistogram)),
    negatives,
  );
  const a = binnedAuc(histPositives, histNegatives);
  const auc: Auc =
    a.estimate === null
      ? { estimate: null, se: null, ciLow: null, ciHigh: null, method: 'delong', reason: a.reason }
      : { estimate: a.estimate, se: a.se, ciLow: a.ciLow, ciHigh: a.ciHigh, method: 'delong' };

  const { calibration: _c, subgroups: _s, paired: _p, ...rest } = report;
  return {
    ...rest,
    cases,
    positives,
    negatives,
    confusion: { tp, fp, tn, fn },
    sensitivity: proportion(tp, positives, none ? 'empty' : 'no-positives'),
    specificity: proportion(tn, negatives, none ? 'empty' : 'no-negatives'),
    ppv: proportion(tp, tp + fp, 'empty'),
    npv: proportion(tn, tn + fn, 'empty'),
    auc,
    histogram: { edges: [...report.histogram.edges], positives: histPositives, negatives: histNegatives },
    subgroups: [],
    differentialPrivacy: {
      mechanism: 'discrete-laplace',
      epsilon: opts.epsilon,
      allocation: { confusion: epsConfusion, histogram: epsHistogram },
    },
  };
}

/** Scales non-negative integer counts to sum to `total`, by largest remainders (ties to the lower bin). */
function rescale(counts: number[], total: number): number[] {
  if (total === 0) return counts.map(() => 0);
  // Every bin noised to zero says nothing about where the scores lie: spread the total evenly.
  if (counts.every((v) => v === 0))
    return rescale(
      counts.map(() => 1),
      total,
    );
  const sum = counts.reduce((s, v) => s + v, 0);
  const exact = counts.map((v) => (v * total) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((s, v) => s + v, 0);
  const order = exact.map((v, i) => ({ i, r: v - Math.floor(v) })).sort((x, y) => y.r - x.r || x.i - y.i);
  for (const { i } of order) {
    if (left === 0) break;
    out[i] = (out[i] as number) + 1;
    left--;
  }
  return out;
}
