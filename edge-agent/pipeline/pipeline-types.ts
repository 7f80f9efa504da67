import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { ImageSource } from '../sources/source.ts';
import type { PredictionCache } from '../state/predictions.ts';
import type { Device, Provider } from './infer.ts';
import type { StudyAttributes } from './study-attributes.ts';

/** What the scoring pipeline (score-folder.ts) takes, reports while it runs, and returns. */

export interface PipelineProgress {
  filesSeen: number;
  /** How many files the source will yield, once known (for the ETA). */
  filesTotal?: number;
  framesDecoded: number;
  /** Frames (images) run through the model in this run. */
  imagesInferred: number;
  /** Instances taken from the prediction cache (no decode, no inference). */
  cached: number;
  used: number;
  excluded: number;
  excludedByReason: ExclusionCounts;
  elapsedSeconds: number;
  /** Images inferred per second since the start. */
  imagesPerSecond: number;
  etaSeconds?: number;
}

/** Kept for callers of the first loop: the fields it reported are still there. */
export type ScoreFolderProgress = PipelineProgress;

export interface ScoreFolderOptions {
  /** A folder, read recursively (ignored when `source` is given). */
  dicomDir?: string;
  source?: ImageSource;
  manifest: ModelManifest;
  model: Uint8Array;
  device?: Device;
  /** Images per inference run; by default 8 on the CPU and 32 on a GPU provider. */
  batchSize?: number;
  /** Inference threads (ONNX Runtime intra-op). */
  threads?: number;
  /** Let ONNX Runtime's threads spin between runs (default off: the spinning steals the workers' cores). */
  spinning?: boolean;
  /** Decode worker threads; by default one fewer than the cores (at least 2, at most 8). */
  workers?: number;
  /** What the run may hold (default 2048 MiB): batch size and workers are lowered to fit (memory-budget.ts). */
  memoryBudgetMiB?: number;
  cache?: PredictionCache;
  onProgress?: (p: PipelineProgress) => void;
}

export interface ScoreFolderResult {
  studyScores: Map<string, number>;
  /** For the studies in `studyScores`: attributes for subgroup counts (never sent as such). */
  studyAttributes: Map<string, StudyAttributes>;
  images: { seen: number; used: number };
  excluded: ExclusionCounts;
  provider: Provider;
  /** Frames inferred in this run, and instances taken from the cache. */
  inferred: number;
  cached: number;
  /** Cached instances a DICOMweb source named, used without downloading them (a subset of `cached`). */
  downloadsSkipped: number;
  batchSize: number;
  /** Decode workers the run used (the setting or default, lowered to the memory budget). */
  workers: number;
  stages: StageTimes;
  /**
   * For the site's IT only, never sent: what the runtime or a worker said when it failed (the failed items
   * are counted in `excluded` with their reason). Bounded (diagnostics.ts).
   */
  diagnostics: string[];
}

/** Where the time went (seconds; decode is summed over workers, so it can exceed the wall time). */
export interface StageTimes {
  /** From the first file handed to a worker to the last score (excludes startup). */
  wall: number;
  /** Starting the worker threads (loader, codecs) and one warm-up batch — once per run, before `wall`. */
  startup: number;
  inference: number;
  /** Main thread waiting for tensors while inference was idle: the workers were the bottleneck. */
  starved: number;
}
