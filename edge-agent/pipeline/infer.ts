import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkModelGraph } from '../../schemas/model-graph-check.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { JobFailure } from './job-failure.ts';

/**
 * Infer operator: ONNX Runtime session creation with provider probing, and batched scoring.
 *
 * onnxruntime-node throws when any listed execution provider is unavailable — even ['cuda', 'cpu'] does not
 * fall back — so 'auto' tries one provider per session, in order of expected speed, and keeps the first that
 * loads the model.
 */

export type Device = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export type Provider = 'cpu' | 'webgpu' | 'cuda';

export interface ProviderAttempt {
  provider: string;
  /** First line of the runtime's message (about the provider or the model, never about patient data). */
  error?: string;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: Provider;
  attempts: ProviderAttempt[];
}

const AUTO_ORDER: readonly Provider[] = ['cuda', 'webgpu', 'cpu'];

// ONNX Runtime's own logger writes provider warnings (a Vulkan loader without a usable device, say) straight to
// stderr, between a run's progress lines. Failed attempts reach the caller as `attempts` anyway; the warnings
// show with CAIRN_DEBUG. Takes effect at the first session (ORT reads it once).
if (!process.env.CAIRN_DEBUG && ort.env.logLevel === 'warning') ort.env.logLevel = 'error';

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').slice(0, 300);
}

const ORT_BINDING_DIR = join(
  dirname(createRequire(import.meta.url).resolve('onnxruntime-node')),
  '..',
  'bin',
  'napi-v6',
  process.platform,
  process.arch,
);

function libraryDirs(): string[] {
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [
    ...fromEnv,
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/usr/local/lib',
  ];
}

/**
 * Why a provider cannot work on this host, found without asking ONNX Runtime — whose failed attempts print
 * native error lines to stderr. Undefined means "worth trying".
 */
export function providerPrecheck(provider: Provider): string | undefined {
  if (provider === 'cuda' && !existsSync(join(ORT_BINDING_DIR, 'libonnxruntime_providers_cuda.so')))
    return 'CUDA provider libraries not installed (install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12)';
  if (
    provider === 'webgpu' &&
    process.platform === 'linux' &&
    !libraryDirs().some((d) => existsSync(join(d, 'libvulkan.so.1')))
  )
    return 'no Vulkan loader (libvulkan.so.1) on this host';
  return undefined;
}

/**
 * With `manifest`, the model is first put through the cloud's admission check (schemas/model-graph-check.ts)
 * — the agent does not trust that the cloud made it — and a refusal, like a runtime that cannot load the
 * model, throws JobFailure('model-load-failed') before any image is read.
 */
export async function createInferenceSession(
  model: Uint8Array,
  opts: { device: Device; threads?: number; spinning?: boolean; manifest?: ModelManifest },
): Promise<CreatedSession> {
  if (opts.manifest) {
    const check = await checkModelGraph([model], opts.manifest);
    if (!check.ok)
      throw new JobFailure('model-load-failed', `${check.code} (${check.field}): ${check.reason}`);
  }
  const threads = opts.threads ?? availableParallelism();
  const order: readonly Provider[] = opts.device === 'auto' ? AUTO_ORDER : [opts.device];
  const attempts: ProviderAttempt[] = [];
  for (const provider of order) {
    const missing = providerPrecheck(provider);
    if (missing) {
      attempts.push({ provider, error: missing });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // ORT's default thread count is a poor fit for small hosts; always say what we want.
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        // ORT's threads spin after each run by default; that spinning steals the cores the decode workers
        // need between batches (off unless asked for: `spinning`).
        extra: { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' } } },
      });
      attempts.push({ provider });
      return { session, provider, attempts };
    } catch (err) {
      attempts.push({ provider, error: firstLine(err) });
    }
  }
  const detail = attempts.map((a) => `${a.provider}: ${a.error}`).join('; ');
  throw new JobFailure(
    'model-load-failed',
    opts.device === 'auto'
      ? `inference: no execution provider could load the model (${detail})`
      : `inference: the requested device '${opts.device}' is not available (${detail})`,
  );
}

/** How many images one run may carry: a fixed batch size, any number, or not yet known. */
type BatchShape = { kind: 'fixed'; size: number } | { kind: 'dynamic' } | { kind: 'unknown' };

const learnedBatch = new WeakMap<ort.InferenceSession, BatchShape>();

function batchShape(session: ort.InferenceSession, inputName: string): BatchShape {
  const learned = learnedBatch.get(session);
  if (learned) return learned;
  let shape: BatchShape = { kind: 'unknown' };
  const meta = (session as { inputMetadata?: readonly ort.InferenceSession.ValueMetadata[] }).inputMetadata;
  const entry = meta?.find((m) => m.name === inputName);
  if (entry?.isTensor && entry.shape.length > 0) {
    const first = entry.shape[0];
    shape = typeof first === 'number' && first > 0 ? { kind: 'fixed', size: first } : { kind: 'dynamic' };
  }
  learnedBatch.set(session, shape);
  return shape;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * One score per input, in input order: output[manifest.output.name][i, index], through the manifest's
 * activation. Each input is channels × height × width float32 data. Models with a fixed batch dimension are
 * run in chunks of that size (the last chunk zero-padded); if the batch dimension cannot be read from the
 * model, the whole batch is tried once and the session falls back to one image per run for good on failure.
 */
export async function runBatch(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  inputs: Float32Array[],
): Promise<number[]> {
  if (inputs.length === 0) return [];
  const { name } = manifest.input;
  if (!session.inputNames.includes(name))
    throw new Error(`inference: the model has no input named '${name}'`);
  if (!session.outputNames.includes(manifest.output.name)) {
    throw new Error(`inference: the model has no output named '${manifest.output.name}'`);
  }
  const shape = batchShape(session, name);
  if (shape.kind === 'dynamic') return runChunk(session, manifest, inputs, inputs.length);
  if (shape.kind === 'fixed') return runChunks(session, manifest, inputs, shape.size);
  try {
    const scores = await runChunk(session, manifest, inputs, inputs.length);
    learnedBatch.set(session, { kind: 'dynamic' });
    return scores;
  } catch (err) {
    if (inputs.length === 1) throw err;
    const scores = await runChunks(session, manifest, inputs, 1);
    learnedBatch.set(session, { kind: 'fixed', size: 1 });
    return scores;
  }
}

async function runChunks(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  inputs: Float32Array[],
  size: number,
): Promise<number[]> {
  const scores: number[] = [];
  for (let i = 0; i < inputs.length; i += size) {
    scores.push(...(await runChunk(session, manifest, inputs.slice(i, i + size), size)));
  }
  return scores;
}

/** Runs `inputs` as one tensor of `batch` images (batch >= inputs.length; the rest is zero padding). */
async function runChunk(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  inputs: Float32Array[],
  batch: number,
): Promise<number[]> {
  const { channels, height, width, name } = manifest.input;
  const per = channels * height * width;
  const data = new Float32Array(batch * per);
  inputs.forEach((x, i) => {
    if (x.length !== per) throw new Error('inference: input tensor size does not match the manifest');
    data.set(x, i * per);
  });
  const feed = { [name]: new ort.Tensor('float32', data, [batch, channels, height, width]) };
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feed, [manifest.output.name]);
  } catch (err) {
    throw new JobFailure('inference-failed', firstLine(err));
  }
  const output = results[manifest.output.name];
  if (!output) throw new Error('inference: the model produced no output');
  try {
    const values = output.data;
    if (!(values instanceof Float32Array || values instanceof Float64Array)) {
      throw new Error('inference: the output is not a floating-point tensor');
    }
    const stride = values.length / batch;
    const { index, activation } = manifest.output;
    if (!Number.isInteger(stride) || index >= stride) {
      throw new Error('inference: the output shape does not fit the manifest (batch or index)');
    }
    const scores: number[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const raw = values[i * stride + index]!;
      scores.push(activation === 'sigmoid' ? sigmoid(raw) : raw);
    }
    return scores;
  } finally {
    output.dispose();
  }
}
