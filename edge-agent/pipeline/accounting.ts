import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import type { ImageExclusionReason } from '../dicom/parse.ts';
import type { PipelineProgress } from './pipeline-types.ts';

const PROGRESS_EVERY_FILES = 100;

/**
 * The run's counts. Every item the source yields ends either used (scored now, or taken from the cache) or
 * excluded with exactly one reason, so `used + excludedTotal = seen` once the run is over; progress is reported
 * every 100 settled items (and whenever forced, e.g. after a batch).
 */
export class RunAccounting {
  seen = 0;
  used = 0;
  /** Frames run through the model in this run. */
  inferred = 0;
  /** Instances taken from the prediction cache. */
  cached = 0;
  /** Cached instances a DICOMweb source named, used without downloading them (a subset of `cached`). */
  downloadsSkipped = 0;
  framesDecoded = 0;
  /** How many items the source will yield, once it knows. */
  filesTotal: number | undefined;
  readonly excluded: ExclusionCounts = {};
  excludedTotal = 0;
  #started = performance.now();
  #lastProgressAt = 0;

  constructor(private readonly onProgress?: (p: PipelineProgress) => void) {}

  exclude(reason: ImageExclusionReason): void {
    this.excluded[reason] = (this.excluded[reason] ?? 0) + 1;
    this.excludedTotal++;
  }

  /** An instance used from the cache; `downloadSkipped` when its bytes were never fetched. */
  useCached(downloadSkipped = false): void {
    this.cached++;
    this.used++;
    if (downloadSkipped) this.downloadsSkipped++;
  }

  /** Elapsed time and rates count from here (after the startup, which is timed on its own). */
  restartClock(): void {
    this.#started = performance.now();
  }

  elapsedSeconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  progress(force = false): void {
    if (!this.onProgress) return;
    const done = this.used + this.excludedTotal;
    if (!force && done - this.#lastProgressAt < PROGRESS_EVERY_FILES) return;
    this.#lastProgressAt = done;
    const elapsed = this.elapsedSeconds();
    const rate = elapsed > 0 ? done / elapsed : 0;
    const p: PipelineProgress = {
      filesSeen: this.seen,
      framesDecoded: this.framesDecoded,
      imagesInferred: this.inferred,
      cached: this.cached,
      used: this.used,
      excluded: this.excludedTotal,
      excludedByReason: { ...this.excluded },
      elapsedSeconds: elapsed,
      imagesPerSecond: elapsed > 0 ? this.inferred / elapsed : 0,
    };
    if (this.filesTotal !== undefined) {
      p.filesTotal = this.filesTotal;
      if (rate > 0) p.etaSeconds = Math.max(0, (this.filesTotal - done) / rate);
    }
    this.onProgress(p);
  }
}
