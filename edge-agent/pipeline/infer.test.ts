import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest, type ModelManifestInput } from '../../schemas/model-manifest.ts';
import { type CreatedSession, createInferenceSession, runBatch } from './infer.ts';
import { tinyModel } from './onnx-model.test-util.ts';

const C = 1;
const H = 4;
const W = 4;

function manifestFor(extra: Partial<ModelManifestInput> = {}): ModelManifest {
  return ModelManifest.parse({
    schema: 'cairn.model/v1',
    vendor: 'test-vendor',
    name: 'tiny',
    version: '1.0.0',
    task: 'binary-classification',
    modality: ['CT'],
    input: { name: 'image', channels: C, height: H, width: W },
    output: { name: 'logits', activation: 'none', index: 1 },
    threshold: 0.5,
    studyAggregation: 'max',
    ...extra,
  });
}

const constant = (v: number) => new Float32Array(C * H * W).fill(v);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('createInferenceSession', () => {
  const model = tinyModel({ channels: C, height: H, width: W });

  it('cpu loads with the requested provider', async () => {
    const created = await createInferenceSession(model, { device: 'cpu', threads: 1 });
    expect(created.provider).toBe('cpu');
    expect(created.attempts).toEqual([{ provider: 'cpu' }]);
    await created.session.release();
  });

  it('auto probes one provider at a time and ends on one that works', async () => {
    const created = await createInferenceSession(model, { device: 'auto', threads: 1 });
    const providers = created.attempts.map((a) => a.provider);
    expect(providers).toEqual(['cuda', 'webgpu', 'cpu'].slice(0, providers.length));
    expect(created.attempts.at(-1)).toEqual({ provider: created.provider });
    for (const a of created.attempts.slice(0, -1)) expect(a.error).toBeTruthy();
    await created.session.release();
  });

  it('an explicit device that cannot load throws a clear error', async () => {
    // This build has no CUDA provider libraries; a host that has them skips this check.
    const auto = await createInferenceSession(model, { device: 'auto', threads: 1 });
    await auto.session.release();
    if (auto.provider === 'cuda') return;
    await expect(createInferenceSession(model, { device: 'cuda', threads: 1 })).rejects.toThrow(
      /^inference: the requested device 'cuda' is not available/,
    );
  });

  it('a model that does not load fails every provider', async () => {
    await expect(createInferenceSession(new Uint8Array([1, 2, 3]), { device: 'cpu' })).rejects.toThrow(
      /requested device 'cpu'/,
    );
  });
});

describe('runBatch', () => {
  let dynamic: CreatedSession;
  let fixed: CreatedSession;
  beforeAll(async () => {
    dynamic = await createInferenceSession(
      tinyModel({ channels: C, height: H, width: W, weights: [-2, 3], bias: [0.5, -1] }),
      {
        device: 'cpu',
        threads: 1,
      },
    );
    fixed = await createInferenceSession(
      tinyModel({ channels: C, height: H, width: W, weights: [-2, 3], bias: [0.5, -1], batch: 1 }),
      { device: 'cpu', threads: 1 },
    );
  });
  afterAll(async () => {
    await dynamic.session.release();
    await fixed.session.release();
  });

  const inputs = [constant(0), constant(1), constant(-0.5)];
  const logit1 = (mean: number) => 3 * mean - 1;
  const logit0 = (mean: number) => -2 * mean + 0.5;

  it('scores a whole batch: element [i, index], no activation', async () => {
    const scores = await runBatch(dynamic.session, manifestFor(), inputs);
    expect(scores.map((s) => Number(s.toFixed(6)))).toEqual([0, 1, -0.5].map(logit1));
  });

  it('applies sigmoid and honours the output index', async () => {
    const m = manifestFor({ output: { name: 'logits', activation: 'sigmoid', index: 0 } });
    const scores = await runBatch(dynamic.session, m, inputs);
    for (const [i, mean] of [0, 1, -0.5].entries()) expect(scores[i]).toBeCloseTo(sigmoid(logit0(mean)), 6);
  });

  it('runs a fixed-batch-1 model one image at a time', async () => {
    const scores = await runBatch(fixed.session, manifestFor(), inputs);
    for (const [i, mean] of [0, 1, -0.5].entries()) expect(scores[i]).toBeCloseTo(logit1(mean), 6);
  });

  it('falls back to one at a time when the batch dimension cannot be read', async () => {
    const s = fixed.session;
    // A session without inputMetadata, as older runtimes expose it.
    const opaque = { inputNames: s.inputNames, outputNames: s.outputNames, run: s.run.bind(s) } as typeof s;
    const scores = await runBatch(opaque, manifestFor(), inputs);
    for (const [i, mean] of [0, 1, -0.5].entries()) expect(scores[i]).toBeCloseTo(logit1(mean), 6);
    // Learned: the second call goes straight to single runs.
    expect(await runBatch(opaque, manifestFor(), inputs.slice(0, 2))).toHaveLength(2);
  });

  it('rejects names the model does not have, and bad index', async () => {
    await expect(
      runBatch(
        dynamic.session,
        manifestFor({ input: { name: 'nope', channels: C, height: H, width: W } }),
        inputs,
      ),
    ).rejects.toThrow(/no input named 'nope'/);
    await expect(
      runBatch(
        dynamic.session,
        manifestFor({ output: { name: 'logits', activation: 'none', index: 2 } }),
        inputs,
      ),
    ).rejects.toThrow(/output shape/);
    expect(await runBatch(dynamic.session, manifestFor(), [])).toEqual([]);
  });
});
