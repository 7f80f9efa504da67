import type { ImageExclusionReason } from '../dicom/parse.ts';
import type { CachedPrediction } from '../state/predictions.ts';
import type { RunAccounting } from './accounting.ts';
import type { StudyAggregator } from './aggregate.ts';

export interface QueuedTensor {
  /** The item (file) the frame belongs to. */
  id: number;
  tensor: Float32Array;
}

export type ScoredInstance = CachedPrediction & { sopInstanceUid: string };

interface InFlight {
  study: string;
  sop: string;
  frames: number;
  /** Tensors queued or being inferred. */
  pending: number;
  max: number;
  sum: number;
  /** The worker still has frames of it to send. */
  producing: boolean;
  failed?: ImageExclusionReason;
}

/**
 * The instances being decoded or scored and the queue of their tensors, cut into batches for the model.
 * An instance is used once all its frames scored (its frame scores go into its study like separate images);
 * one bad frame, or a batch the runtime rejects, excludes the whole instance — once, however many of its
 * frames were still queued. `full` is the back-pressure mark: `3 × batchSize` tensors waiting.
 */
export class Batcher {
  readonly #files = new Map<number, InFlight>();
  readonly #queue: QueuedTensor[] = [];
  readonly #highWater: number;

  constructor(
    readonly batchSize: number,
    private readonly accounting: RunAccounting,
    private readonly aggregator: StudyAggregator,
  ) {
    this.#highWater = 3 * batchSize;
  }

  get queued(): number {
    return this.#queue.length;
  }
  get inFlight(): number {
    return this.#files.size;
  }
  get full(): boolean {
    return this.#queue.length >= this.#highWater;
  }
  get hasFullBatch(): boolean {
    return this.#queue.length >= this.batchSize;
  }

  /** An instance admitted for decoding: its frames will follow. */
  open(id: number, instance: { study: string; sop: string; frames: number }): void {
    this.#files.set(id, { ...instance, pending: 0, max: Number.NEGATIVE_INFINITY, sum: 0, producing: true });
  }

  /** A chunk of decoded frames; `done` when it was the instance's last. */
  push(id: number, tensors: Float32Array[], done: boolean): void {
    this.accounting.framesDecoded += tensors.length;
    const f = this.#files.get(id);
    if (!f) return;
    for (const tensor of tensors) this.#queue.push({ id, tensor });
    f.pending += tensors.length;
    if (done) f.producing = false;
  }

  /** The instance failed before all its frames were out; false when it was not in flight. */
  fail(id: number, reason: ImageExclusionReason): boolean {
    const f = this.#files.get(id);
    if (!f) return false;
    f.failed = reason;
    f.producing = false;
    this.#finalize(id, f);
    return true;
  }

  /** Up to `batchSize` tensors, skipping (and settling) those of instances that already failed. */
  take(): QueuedTensor[] {
    const batch: QueuedTensor[] = [];
    while (batch.length < this.batchSize && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      const f = this.#files.get(next.id);
      if (!f || f.failed) {
        if (f) {
          f.pending--;
          this.#finalize(next.id, f);
        }
        continue;
      }
      batch.push(next);
    }
    return batch;
  }

  /**
   * The model's scores for `batch` (undefined, or the wrong count, when the runtime failed it): a frame
   * without a finite score excludes its instance as 'inference-error'. Returns the instances this completed.
   */
  record(batch: QueuedTensor[], scores: number[] | undefined): ScoredInstance[] {
    const ok = scores !== undefined && scores.length === batch.length;
    const completed: ScoredInstance[] = [];
    batch.forEach((b, i) => {
      const f = this.#files.get(b.id)!;
      f.pending--;
      const score = ok ? scores[i]! : Number.NaN;
      if (!Number.isFinite(score)) f.failed ??= 'inference-error';
      else {
        this.accounting.inferred++;
        f.max = Math.max(f.max, score);
        f.sum += score;
      }
      if (this.#finalize(b.id, f))
        completed.push({
          sopInstanceUid: f.sop,
          studyInstanceUid: f.study,
          frames: f.frames,
          scoreMax: f.max,
          scoreSum: f.sum,
        });
    });
    return completed;
  }

  /** Settles an instance with nothing left in flight; true when it was used. */
  #finalize(id: number, f: InFlight): boolean {
    if (f.pending > 0 || (f.producing && !f.failed)) return false;
    this.#files.delete(id);
    if (f.failed) {
      this.accounting.exclude(f.failed);
      return false;
    }
    this.accounting.used++;
    this.aggregator.addInstance(f.study, f.max, f.sum, f.frames);
    return true;
  }
}
