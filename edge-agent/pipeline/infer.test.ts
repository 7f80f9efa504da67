import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManifest, type ModelManifestInput } from '../../schemas/model-manifest.ts';
import { type CreatedSession, createInferenceSession, runBatch } from './infer.ts';
import { JobFailure } from './job-failure.ts';
import { tinyModel } from './onnx-model.test-util.ts';

const { onnx } = onnxProto;

function editedModel(bytes: Uint8Array, edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

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
      /^model-load-failed: inference: the requested device 'cuda' is not available/,
    );
  });

  it('a model that does not load fails every provider, as model-load-failed', async () => {
    const err = await createInferenceSession(new Uint8Array([1, 2, 3]), { device: 'cpu' }).catch((e) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect(err).toMatchObject({
      code: 'model-load-failed',
      message: expect.stringMatching(/requested device 'cpu'/),
    });
  });

  it('with the manifest, repeats the admission check first: refused models are model-load-failed, never loaded', async () => {
    const refused = async (bytes: Uint8Array, m: ModelManifest) => {
      const err = await createInferenceSession(bytes, { device: 'cpu', threads: 1, manifest: m }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(JobFailure);
      return { code: (err as JobFailure).code, detail: (err as Error).message.split(' ')[1] };
    };
    expect(await refused(new TextEncoder().encode('not a model'), manifestFor())).toEqual({
      code: 'model-load-failed',
      detail: 'not-onnx',
    });
    expect(
      await refused(model, manifestFor({ input: { name: 'pixels', channels: C, height: H, width: W } })),
    ).toEqual({ code: 'model-load-failed', detail: 'input-name-mismatch' });
    expect(
      await refused(model, manifestFor({ output: { name: 'logits', activation: 'none', index: 2 } })),
    ).toEqual({
      code: 'model-load-failed',
      detail: 'output-index-out-of-range',
    });
    const ok = await createInferenceSession(model, { device: 'cpu', threads: 1, manifest: manifestFor() });
    await ok.session.release();
  });

  it('a graph that passes the check but that ONNX Runtime cannot load (an unknown operator) is model-load-failed', async () => {
    const bytes = editedModel(model, (m) => {
      m.graph!.node![0]!.opType = 'NoSuchOperator';
    });
    const err = await createInferenceSession(bytes, {
      device: 'cpu',
      threads: 1,
      manifest: manifestFor(),
    }).catch((e) => e);
    expect(err).toMatchObject({ code: 'model-load-failed' });
  });

  it('a model that loads but fails when it runs is inference-failed', async () => {
    // The 16 values of an image reshaped to rows of 7 and back: shape inference cannot know the batch size, so
    // it loads; 16 is no multiple of 7, so every run fails.
    const bytes = editedModel(model, (m) => {
      const g = m.graph!;
      const INT64 = onnx.TensorProto.DataType.INT64;
      g.initializer!.push(
        onnx.TensorProto.create({ name: 'rows7', dataType: INT64, dims: [2], int64Data: [-1, 7] }),
        onnx.TensorProto.create({ name: 'nchw', dataType: INT64, dims: [4], int64Data: [-1, C, H, W] }),
      );
      g.node!.unshift(
        onnx.NodeProto.create({ opType: 'Reshape', input: ['image', 'rows7'], output: ['r7'] }),
        onnx.NodeProto.create({ opType: 'Reshape', input: ['r7', 'nchw'], output: ['back'] }),
      );
      g.node![2]!.input![0] = 'back';
    });
    const created = await createInferenceSession(bytes, {
      device: 'cpu',
      threads: 1,
      manifest: manifestFor(),
    });
    try {
      const err = await runBatch(created.session, manifestFor(), [constant(0)]).catch((e) => e);
      expect(err).toBeInstanceOf(JobFailure);
      expect(err).toMatchObject({ code: 'inference-failed' });
    } finally {
      await created.session.release();
    }
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
