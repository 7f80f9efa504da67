import type { ScoreHistogram } from '../../schemas/site-report.ts';
import { releasedHistogram, sumHistograms } from '../../stats/across-sites.ts';

/**
 * The pooled binned ROC curve the comparison's binned AUC is the area under: the sites' histograms summed on
 * the edges every site kept (stats/across-sites.ts sumHistograms), read as (1 − specificity, sensitivity) for
 * "positive when score ≥ edge" at each common edge, from the highest (nothing positive) to the lowest.
 */
export function pooledRocPoints(histograms: ScoreHistogram[]): [number, number][] {
  const released = histograms.map(releasedHistogram).filter((h) => h !== null);
  const sum = sumHistograms(released);
  if (!sum) return [];
  const totalPos = sum.positives.reduce((a, b) => a + b, 0);
  const totalNeg = sum.negatives.reduce((a, b) => a + b, 0);
  if (totalPos === 0 || totalNeg === 0) return [];
  const points: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  for (let b = sum.positives.length - 1; b >= 0; b--) {
    tp += sum.positives[b] as number;
    fp += sum.negatives[b] as number;
    points.push([fp / totalNeg, tp / totalPos]);
  }
  return points;
}
