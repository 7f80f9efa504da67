/**
 * Confusion counts at a locked decision threshold.
 */

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/**
 * Counts true/false positives and negatives when a case is called positive iff score >= threshold
 * (STATISTICS.md). Labels are 0/1; a NaN score throws rather than being silently called negative.
 */
export function confusionAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): Confusion {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  if (Number.isNaN(threshold)) throw new RangeError('threshold is NaN');
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s)) throw new RangeError(`score ${i} is NaN`);
    const called = s >= threshold;
    const y = labels[i];
    if (y === 1) called ? c.tp++ : c.fn++;
    else if (y === 0) called ? c.fp++ : c.tn++;
    else throw new RangeError(`label ${i} is ${y}; labels must be 0 or 1`);
  }
  return c;
}
