import type { ModelManifest } from '../../schemas/model-manifest.ts';

/**
 * Aggregate operator: image scores → one score per study (manifest.studyAggregation). Keeps O(1) state per
 * study, so memory grows with the number of studies, not images.
 */
export class StudyAggregator {
  readonly #rule: ModelManifest['studyAggregation'];
  readonly #acc = new Map<string, { value: number; n: number }>();

  constructor(rule: ModelManifest['studyAggregation']) {
    this.#rule = rule;
  }

  add(studyInstanceUid: string, score: number): void {
    const acc = this.#acc.get(studyInstanceUid);
    if (!acc) {
      this.#acc.set(studyInstanceUid, { value: score, n: 1 });
    } else if (this.#rule === 'max') {
      acc.value = Math.max(acc.value, score);
      acc.n++;
    } else {
      acc.value += score;
      acc.n++;
    }
  }

  /**
   * One instance's frames at once (multi-frame objects, or a cached instance): `max` and `sum` over its `n`
   * frame scores. Same result as adding the frames one by one.
   */
  addInstance(studyInstanceUid: string, max: number, sum: number, n: number): void {
    const acc = this.#acc.get(studyInstanceUid);
    const value = this.#rule === 'max' ? max : sum;
    if (!acc) this.#acc.set(studyInstanceUid, { value, n });
    else {
      acc.value = this.#rule === 'max' ? Math.max(acc.value, max) : acc.value + sum;
      acc.n += n;
    }
  }

  /** Study UID → study score, in the order studies were first scored. */
  result(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [study, { value, n }] of this.#acc) out.set(study, this.#rule === 'max' ? value : value / n);
    return out;
  }
}
