import type { Job } from '../../schemas/job.ts';
import type { JobFailureCounts } from '../../schemas/job-status.ts';
import type { AgentSettings } from '../config.ts';
import { JobFailure } from '../pipeline/job-failure.ts';
import type { ScoreFolderOptions, ScoreFolderResult } from '../pipeline/pipeline-types.ts';
import { predictionCacheKey, scoreWithSession } from '../pipeline/score-folder.ts';
import { openScoringSession, releaseSession, type ScoringSession } from '../pipeline/scoring-session.ts';
import { sourceFromSettings } from '../sources/from-settings.ts';
import type { ImageSource } from '../sources/source.ts';
import { predictionCache } from '../state/predictions.ts';
import type { JobContext } from './context.ts';

/** What the scoring steps run on: the pipeline's options for this job at this site (the source comes with `score`). */
export function scoringOptions(
  ctx: JobContext,
  job: Job,
  model: Uint8Array,
  counts: (c: JobFailureCounts) => void,
): ScoreFolderOptions {
  const { settings, db, events } = ctx;
  const manifest = job.model.manifest;
  return {
    manifest,
    model,
    device: settings.device,
    ...tuning(settings),
    memoryBudgetMiB: settings.memoryBudgetMiB,
    // Per-image scores survive a crash: a rerun of this job (or another job on the same model) reuses them.
    cache: predictionCache(db, predictionCacheKey(model, manifest)),
    onProgress: (p) => {
      counts({ filesScanned: p.filesSeen, excluded: p.excludedByReason });
      events.progress?.({ jobId: job.jobId, ...p });
    },
  };
}

const tuning = (s: AgentSettings) => ({
  ...(s.batchSize !== undefined ? { batchSize: s.batchSize } : {}),
  ...(s.threads !== undefined ? { threads: s.threads } : {}),
  ...(s.workers !== undefined ? { workers: s.workers } : {}),
});

/**
 * Step load-session: the model in ONNX Runtime and the run's memory plan. A model the runtime refuses is
 * model-load-failed; an input too large for the budget is input-too-large-for-memory-budget.
 */
export const loadSession = (opts: ScoreFolderOptions): Promise<ScoringSession> => openScoringSession(opts);

/**
 * Step score: every image of the site's source through the model. The pipeline excludes the images of a batch
 * the runtime rejects; when it rejected every one, the model does not run here at all (inference-failed).
 */
export async function score(
  session: ScoringSession,
  opts: ScoreFolderOptions,
  settings: AgentSettings,
): Promise<ScoreFolderResult> {
  let source: ImageSource;
  try {
    source = sourceFromSettings(settings, opts.manifest.modality);
  } catch (err) {
    await releaseSession(session.session);
    throw err;
  }
  const scored = await scoreWithSession(session, { ...opts, source });
  if (scored.images.used === 0 && (scored.excluded['inference-error'] ?? 0) > 0)
    throw new JobFailure(
      'inference-failed',
      ['ONNX Runtime failed on every image', ...scored.diagnostics.map((d) => `  ${d}`)].join('\n'),
    );
  return scored;
}
