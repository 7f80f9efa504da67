import { availableParallelism } from 'node:os';
import type ort from 'onnxruntime-node';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { createInferenceSession, type Provider, runBatch } from './infer.ts';
import { JobFailure } from './job-failure.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, type MemoryPlan, planMemory } from './memory-budget.ts';
import type { ScoreFolderOptions } from './pipeline-types.ts';

export const defaultBatchSize = (provider: Provider) => (provider === 'cpu' ? 8 : 32);
// At least two: measured on the 2-core dev box (bench, ResNet-18 224, CPU), a second worker beside ORT's two
// non-spinning threads costs nothing on uncompressed slices (72 → 74 img/s) and lifts JPEG-LS 51 → 59 img/s,
// because decoding then fills the gaps of both cores between and inside inference runs.
export const defaultWorkers = () => Math.max(2, Math.min(8, availableParallelism() - 1));

export interface ScoringSession {
  session: ort.InferenceSession;
  provider: Provider;
  plan: MemoryPlan;
}

/**
 * The model's session and the run's memory plan (batch size and workers lowered to the budget). A model the
 * runtime cannot load, or an input too large for the budget, throws its JobFailure before any image is read.
 */
export async function openScoringSession(opts: ScoreFolderOptions): Promise<ScoringSession> {
  const { manifest } = opts;
  const created = await createInferenceSession(opts.model, {
    manifest,
    device: opts.device ?? 'auto',
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.spinning ? { spinning: true } : {}),
  });
  try {
    const plan = planMemory({
      budgetMiB: opts.memoryBudgetMiB ?? DEFAULT_MEMORY_BUDGET_MIB,
      input: manifest.input,
      modelBytes: opts.model.byteLength,
      batchSize: Math.floor(opts.batchSize ?? defaultBatchSize(created.provider)),
      workers: Math.floor(opts.workers ?? defaultWorkers()),
    });
    return { session: created.session, provider: created.provider, plan };
  } catch (err) {
    await releaseSession(created.session);
    throw err;
  }
}

/**
 * Runs one full-size zero batch: the first run allocates the runtime's memory arena and picks kernels (tens of
 * ms on a CPU, more on a GPU), which this moves out of the scoring loop. A model that cannot run a full batch
 * just skips the warm-up (the loop finds out and reports it); one that cannot run even one blank image cannot
 * score anything: the job fails (inference-failed) with the runtime's message as its local detail.
 */
export async function warmUp(session: ort.InferenceSession, manifest: ModelManifest, batchSize: number) {
  const { channels, height, width } = manifest.input;
  const blank = (n: number) => Array.from({ length: n }, () => new Float32Array(channels * height * width));
  try {
    await runBatch(session, manifest, blank(batchSize));
    return;
  } catch {
    // A full batch may not fit this model (a fixed batch dimension the runtime refuses): try one image.
  }
  try {
    await runBatch(session, manifest, blank(1));
  } catch (err) {
    if (err instanceof JobFailure) throw err;
    throw new JobFailure('inference-failed', err instanceof Error ? err.message : String(err));
  }
}

/** Releasing a session that failed half-way may throw again; the run's own outcome is what counts. */
export async function releaseSession(session: ort.InferenceSession): Promise<void> {
  await session.release().catch(() => {});
}
