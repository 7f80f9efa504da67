import { folderSource } from '../sources/folder.ts';
import { RunAccounting } from './accounting.ts';
import { Admission } from './admission.ts';
import { StudyAggregator } from './aggregate.ts';
import { Batcher } from './batcher.ts';
import { RunDiagnostics } from './diagnostics.ts';
import type { ScoreFolderOptions, ScoreFolderResult, StageTimes } from './pipeline-types.ts';
import { Scheduler } from './scheduler.ts';
import { openScoringSession, releaseSession, type ScoringSession, warmUp } from './scoring-session.ts';
import { SourceFeed } from './source-feed.ts';
import type { StudyAttributes } from './study-attributes.ts';
import { WorkerPool } from './worker-pool.ts';

export { modelSha256, predictionCacheKey } from './cache-key.ts';
export type {
  PipelineProgress,
  ScoreFolderOptions,
  ScoreFolderProgress,
  ScoreFolderResult,
  StageTimes,
} from './pipeline-types.ts';
export { defaultBatchSize, defaultWorkers, openScoringSession } from './scoring-session.ts';

/**
 * The streaming pipeline: source → [worker threads: read → parse → select → decode → preprocess] → batch →
 * infer (ONNX Runtime, main thread, its own threads) → aggregate, with a per-image prediction cache.
 *
 * Accounting: every item the source yields ends either used (scored, now or from the cache) or excluded
 * with exactly one reason, so `images.used + Σ excluded = images.seen`. A file that fails anywhere — even a
 * worker thread that dies on it — is excluded, never fatal; a batch the runtime rejects excludes its images
 * as 'inference-error'.
 *
 * Multi-frame: every frame is an image for the model; the instance's frame scores go into its study like
 * separate images would (max, or mean over all frames of the study). The instance is used when all its frames
 * scored; one bad frame excludes the instance. Counts stay per file.
 *
 * Memory (back-pressure): workers hand over tensors in chunks and wait for permission before the next chunk
 * or the next file; permission is given only while fewer than `3 × batchSize` tensors wait for inference. So
 * at most about three batches plus one chunk per worker are alive, whatever the size of the archive.
 * What grows with the run: per study, one aggregate (max or sum, count) and its subgroup attributes — a few
 * numbers and short enum strings per study, kept because the site report is computed over all studies at
 * the end (they cannot be flushed early: labels join and the report's statistics need every study score).
 * Duplicate detection is bounded: `ClaimSet` (dedupe.ts) holds a fixed window of recent SOP Instance UIDs,
 * a fixed-size Bloom filter, and spills older UIDs to a run-private temporary file. Everything else (files
 * in flight, the queue, pending claims) is bounded by the pool size and the high-water mark.
 *
 * Cache: after a header is read the instance is looked up by (predictionCacheKey, SOP Instance UID); a hit is used
 * without decoding or inference. Scores are written once per batch, so a killed run loses at most the batch
 * in flight.
 *
 * Duplicates: the first file with a SOP Instance UID that passes selection claims it; later files with the
 * same UID are 'duplicate-instance' whatever happens to the first. A source that names an item's UID before
 * its download (DICOMweb) has it claimed and looked up in the cache first: duplicates and cached instances
 * (of a study whose attributes this run already has) are settled without downloading them.
 */

export async function scoreFolder(opts: ScoreFolderOptions): Promise<ScoreFolderResult> {
  return scoreWithSession(await openScoringSession(opts), opts);
}

/** The same, on a session already opened for these options (openScoringSession); the run releases it. */
export async function scoreWithSession(
  scoring: ScoringSession,
  opts: ScoreFolderOptions,
): Promise<ScoreFolderResult> {
  const source = opts.source ?? (opts.dicomDir ? folderSource(opts.dicomDir) : undefined);
  if (!source) {
    await releaseSession(scoring.session);
    throw new Error('pipeline: no DICOM source (a folder or DICOMweb) was given');
  }
  const { manifest, cache } = opts;
  const { session, provider, plan } = scoring;
  const { batchSize, workers } = plan;
  const stages: StageTimes = { wall: 0, startup: 0, inference: 0, starved: 0 };
  const diagnostics = new RunDiagnostics();
  const accounting = new RunAccounting(opts.onProgress);
  const aggregator = new StudyAggregator(manifest.studyAggregation);
  const batcher = new Batcher(batchSize, accounting, aggregator);
  const admission = new Admission(cache, accounting, aggregator);
  const scheduler = new Scheduler({
    session,
    manifest,
    cache,
    accounting,
    batcher,
    admission,
    diagnostics,
    stages,
  });
  const pool = new WorkerPool(
    { t: 'init', manifest, chunk: Math.min(batchSize, 8) },
    {
      message: scheduler.onMessage,
      ready: () => scheduler.wake(),
      crashed: scheduler.onCrashed,
    },
    diagnostics,
  );
  const feed = new SourceFeed(source, pool, accounting, admission, {
    full: () => batcher.full,
    wake: scheduler.wake,
    fail: scheduler.fail,
  });
  scheduler.attach(pool, feed);
  source.estimate?.().then(
    (n) => {
      accounting.filesTotal = n;
    },
    (err) => diagnostics.note('source estimate', err),
  );

  try {
    const startupBegan = performance.now();
    pool.start(workers);
    // The session warms while the workers load; a model that cannot run one blank image fails the job here.
    await warmUp(session, manifest, batchSize);
    await scheduler.untilReady();
    stages.startup = (performance.now() - startupBegan) / 1000;
    accounting.restartClock();
    await scheduler.run();
  } finally {
    await pool.terminate();
    await releaseSession(session);
    await feed.close();
    await admission.close().catch((err) => diagnostics.note('claims', err));
  }
  stages.wall = accounting.elapsedSeconds();
  accounting.progress(true);

  const studyScores = aggregator.result();
  const studyAttributes = new Map<string, StudyAttributes>();
  for (const study of studyScores.keys()) studyAttributes.set(study, admission.attributes.get(study) ?? {});
  return {
    studyScores,
    studyAttributes,
    images: { seen: accounting.seen, used: accounting.used },
    excluded: accounting.excluded,
    provider,
    inferred: accounting.inferred,
    cached: accounting.cached,
    downloadsSkipped: accounting.downloadsSkipped,
    batchSize,
    workers,
    stages,
    diagnostics: diagnostics.all(),
  };
}
