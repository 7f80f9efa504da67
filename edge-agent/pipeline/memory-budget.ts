import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { JobFailure } from './job-failure.ts';

/**
 * The agent's memory budget (setting `memoryBudgetMiB`, default 2 GiB): batch size and decode workers are
 * derived from the manifest's input size so that what a run holds stays within it, whatever the manifest
 * asks for. Explicit `batchSize`/`workers` settings are upper bounds, lowered to fit.
 *
 * What a run holds (the pipeline's back-pressure bounds it: batcher.ts, worker-pool.ts), with T = channels × height ×
 * width × 4 bytes (one float32 input tensor):
 * - fixed: the runtime (Node, ONNX Runtime, the codecs: RUNTIME_BASE) and the model twice (the bytes the agent
 *   read, and ONNX Runtime's copy of the weights);
 * - per worker: the file being decoded with its decoded frame (WORKER_RESERVE) and one chunk of min(batch, 8)
 *   tensors on its way to the main thread;
 * - per image of a batch: the queue's high water (3 batches of tensors), the batch's input tensor, and the
 *   model's activations, taken as ACTIVATIONS_PER_INPUT inputs' worth (a CNN's first layers are a few times
 *   its input).
 * Batch size is lowered first (to 1), then workers (to 1); an input that does not fit even then fails the job
 * with `input-too-large-for-memory-budget`, before any image is read.
 */

export const DEFAULT_MEMORY_BUDGET_MIB = 2048;
const MiB = 1024 * 1024;
const RUNTIME_BASE = 128 * MiB;
const WORKER_RESERVE = 64 * MiB;
const ACTIVATIONS_PER_INPUT = 4;
const QUEUED_BATCHES = 3;

export interface MemoryPlan {
  batchSize: number;
  workers: number;
  /** The bytes the plan expects the run to hold at most. */
  estimateBytes: number;
}

export const inputTensorBytes = (input: ModelManifest['input']) =>
  input.channels * input.height * input.width * 4;

/** The bytes a run with `batchSize` and `workers` is expected to hold (see the module comment). */
export function runMemoryBytes(
  tensorBytes: number,
  modelBytes: number,
  batchSize: number,
  workers: number,
): number {
  const chunk = Math.min(batchSize, 8);
  return (
    RUNTIME_BASE +
    2 * modelBytes +
    workers * (WORKER_RESERVE + chunk * tensorBytes) +
    batchSize * (QUEUED_BATCHES + 1 + ACTIVATIONS_PER_INPUT) * tensorBytes
  );
}

export function planMemory(opts: {
  budgetMiB: number;
  input: ModelManifest['input'];
  modelBytes: number;
  /** What the settings (or the provider's default) ask for: upper bounds. */
  batchSize: number;
  workers: number;
}): MemoryPlan {
  const budget = opts.budgetMiB * MiB;
  const tensor = inputTensorBytes(opts.input);
  const fits = (b: number, w: number) => runMemoryBytes(tensor, opts.modelBytes, b, w) <= budget;
  for (let workers = Math.max(1, opts.workers); workers >= 1; workers--) {
    for (let batchSize = Math.max(1, opts.batchSize); batchSize >= 1; batchSize--) {
      if (fits(batchSize, workers))
        return {
          batchSize,
          workers,
          estimateBytes: runMemoryBytes(tensor, opts.modelBytes, batchSize, workers),
        };
    }
  }
  const least = runMemoryBytes(tensor, opts.modelBytes, 1, 1);
  throw new JobFailure(
    'input-too-large-for-memory-budget',
    `one ${opts.input.channels}×${opts.input.height}×${opts.input.width} input with this model needs about ${Math.ceil(least / MiB)} MiB; the memory budget is ${opts.budgetMiB} MiB`,
  );
}
