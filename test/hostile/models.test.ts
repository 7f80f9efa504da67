import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobFailure } from '../../edge-agent/pipeline/job-failure.ts';
import { scoreFolder } from '../../edge-agent/pipeline/score-folder.ts';
import { models } from '../../functions/db/schema.ts';
import {
  call,
  fakeOnnx,
  type Loose,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  type TestCloud,
  testManifest,
  testOnnxOfSize,
} from '../../functions/test-fixtures.ts';
import { ModelManifest, type ModelManifestInput } from '../../schemas/model-manifest.ts';
import { runCairn } from '../support/cli-runner.ts';

const { onnx } = onnxProto;

/**
 * Hostile models: bytes that are not a model, or a model that does not fit its manifest. Today's cloud
 * accepted them and every site's agent then failed every run. Each is refused at submission with 422, the
 * reason's code and the manifest field at fault, and leaves no model row and no stored blob.
 * (The model behind testManifest(): input 'input' [N, 1, 64, 64], output 'score' [N, 2], opset 17.)
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

const blobs = () => readdirSync(join(cloud.dir, 'blobs'), { recursive: true }).length;
const submit = (onnx: Uint8Array, over: Partial<ModelManifestInput> = {}) =>
  call(cloud, 'POST', '/v1/models', {
    token: net.acmeToken,
    body: modelUploadForm(testManifest({ version: '6.6.6', ...over }), onnx),
  });

async function expectRefused(
  r: { status: number; body: Loose },
  code: string,
  field: string,
  before: { models: number; blobs: number },
) {
  expect({ status: r.status, code: r.body.error?.code, field: r.body.error?.field }).toEqual({
    status: 422,
    code,
    field,
  });
  expect(typeof r.body.error.message).toBe('string');
  expect((await cloud.deps.db.select().from(models)).length).toBe(before.models);
  expect(blobs()).toBe(before.blobs);
}

describe('hostile models at submission', () => {
  const input = { name: 'input', channels: 1 as const, height: 64, width: 64 };
  const attacks: {
    attack: string;
    onnx: () => Uint8Array;
    manifest?: Partial<ModelManifestInput>;
    code: string;
    field: string;
  }[] = [
    { attack: 'random bytes', onnx: () => randomBytes(4096), code: 'not-onnx', field: 'onnx' },
    {
      attack: 'a text file',
      onnx: () => new TextEncoder().encode('This is the model. Trust us.\n'.repeat(20)),
      code: 'not-onnx',
      field: 'onnx',
    },
    {
      attack: 'a truncated real ONNX',
      onnx: () => testOnnxOfSize(20_000).subarray(0, 12_345),
      code: 'not-onnx',
      field: 'onnx',
    },
    {
      attack: 'a real ONNX with a manifest naming another input',
      onnx: () => fakeOnnx(),
      manifest: { input: { ...input, name: 'pixels' } },
      code: 'input-name-mismatch',
      field: 'input.name',
    },
    {
      attack: 'a real ONNX with a manifest of other dims',
      onnx: () => fakeOnnx(),
      manifest: { input: { ...input, height: 512, width: 512 } },
      code: 'input-shape-mismatch',
      field: 'input.height',
    },
    {
      attack: 'a real ONNX with a manifest naming another output',
      onnx: () => fakeOnnx(),
      manifest: { output: { name: 'probability', activation: 'sigmoid' } },
      code: 'output-name-mismatch',
      field: 'output.name',
    },
    {
      attack: 'a real ONNX with an output index out of range',
      onnx: () => fakeOnnx(),
      manifest: { output: { name: 'score', activation: 'sigmoid', index: 2 } },
      code: 'output-index-out-of-range',
      field: 'output.index',
    },
    {
      attack: 'a sigmoid model with threshold 1.5',
      onnx: () => fakeOnnx(),
      manifest: { threshold: 1.5 },
      code: 'threshold-out-of-range',
      field: 'threshold',
    },
  ];

  for (const a of attacks)
    it(`${a.attack} → 422 ${a.code} (${a.field})`, async () => {
      const before = { models: (await cloud.deps.db.select().from(models)).length, blobs: blobs() };
      await expectRefused(await submit(a.onnx(), a.manifest), a.code, a.field, before);
    });

  it('a good model is still admitted, and its bytes are stored', async () => {
    const before = blobs();
    const r = await submit(fakeOnnx('good'));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(blobs()).toBe(before + 1);
  });
});

describe('hostile models at the agent (a model that reached it without admission)', () => {
  // The agent repeats the cloud's check: whatever the cloud let through, a model that does not fit its manifest
  // fails the job as model-load-failed before ONNX Runtime sees it or any image is read.
  const dir = () => mkdtempSync(join(tmpdir(), 'cairn-hostile-models-'));
  const score = async (model: Uint8Array, over: Partial<ModelManifestInput> = {}) => {
    const dicomDir = dir();
    try {
      return await scoreFolder({
        dicomDir,
        manifest: ModelManifest.parse(testManifest(over)),
        model,
        device: 'cpu',
        threads: 1,
        workers: 1,
      }).then(
        () => 'ran',
        (err: unknown) =>
          err instanceof JobFailure ? { code: err.code, detail: err.message.split(' ')[1] } : err,
      );
    } finally {
      rmSync(dicomDir, { recursive: true, force: true });
    }
  };

  it('random bytes → model-load-failed (not-onnx)', async () => {
    expect(await score(randomBytes(4096))).toEqual({ code: 'model-load-failed', detail: 'not-onnx' });
  });

  it('a manifest naming another input → model-load-failed (input-name-mismatch)', async () => {
    expect(
      await score(fakeOnnx(), { input: { name: 'pixels', channels: 1, height: 64, width: 64 } }),
    ).toEqual({ code: 'model-load-failed', detail: 'input-name-mismatch' });
  });

  it('a threshold of 1.5 on a sigmoid → model-load-failed (threshold-out-of-range)', async () => {
    expect(await score(fakeOnnx(), { threshold: 1.5 })).toEqual({
      code: 'model-load-failed',
      detail: 'threshold-out-of-range',
    });
  });

  it('a model that loads but cannot run one blank image → inference-failed, before any image is read', async () => {
    // The image's 4096 values reshaped to rows of 7 (shape inference cannot know the batch size, so it loads;
    // 4096 is no multiple of 7, so every run fails) and back to [N, 1, 64, 64].
    const m = onnx.ModelProto.decode(fakeOnnx());
    const g = m.graph!;
    const INT64 = onnx.TensorProto.DataType.INT64;
    g.initializer!.push(
      onnx.TensorProto.create({ name: 'rows7', dataType: INT64, dims: [2], int64Data: [-1, 7] }),
      onnx.TensorProto.create({ name: 'nchw', dataType: INT64, dims: [4], int64Data: [-1, 1, 64, 64] }),
    );
    g.node!.unshift(
      onnx.NodeProto.create({ opType: 'Reshape', input: ['input', 'rows7'], output: ['r7'] }),
      onnx.NodeProto.create({ opType: 'Reshape', input: ['r7', 'nchw'], output: ['back'] }),
    );
    g.node![2]!.input![0] = 'back';
    expect(await score(onnx.ModelProto.encode(m).finish())).toMatchObject({ code: 'inference-failed' });
  });

  it('a good model runs (on no images here)', async () => {
    expect(await score(fakeOnnx())).toBe('ran');
  });
});

describe('the storage quota setting', () => {
  it('cairn cloud serve --vendor-quota-mib takes whole MiB; anything else is one error line', async () => {
    const r = await runCairn([
      'cloud',
      'serve',
      '--port',
      '0',
      '--vendor-quota-mib',
      '1.5',
      '--data',
      tmpdir(),
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe('cairn: --vendor-quota-mib: 1.5 is not a whole number of MiB');
  });
});
