import { randomBytes } from 'node:crypto';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { tinyModel } from '../../edge-agent/pipeline/onnx-model.test-util.ts';
import {
  checkModelGraph,
  MAX_SUPPORTED_IR_VERSION,
  MAX_SUPPORTED_ML_OPSET,
  MAX_SUPPORTED_OPSET,
} from '../../schemas/model-graph-check.ts';
import { ModelManifest, type ModelManifestInput } from '../../schemas/model-manifest.ts';
import { readOnnxGraph } from '../../schemas/onnx-graph.ts';
import { largeOnnx } from '../../synthetic/large-onnx.ts';
import { buildNoduleDetectorOnnx, DEMO_INPUT_SIZE, demoManifest } from '../../synthetic/model.ts';
import { ApiError } from '../errors.ts';
import { admitOnnx } from './admission.ts';

const { onnx } = onnxProto;

const manifest = (over: Partial<ModelManifestInput> = {}) =>
  ModelManifest.parse({
    schema: 'cairn.model/v1',
    vendor: 'acme',
    name: 'tiny',
    version: '1.0.0',
    task: 'binary-classification',
    modality: ['CT'],
    input: { name: 'image', channels: 1, height: 8, width: 8 },
    output: { name: 'logits', activation: 'sigmoid', index: 1 },
    threshold: 0.5,
    studyAggregation: 'max',
    ...over,
  });

const good = () => tinyModel({ channels: 1, height: 8, width: 8 });

/** The tiny model with its ModelProto changed by `edit` (decoded and encoded with onnx-proto). */
function edited(edit: (m: onnxProto.onnx.ModelProto) => void, bytes = good()): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

/** A model with one float initializer of `bytes` bytes of raw_data (weights the check must not hold). */
function withWeights(bytes: number): Uint8Array {
  return edited((m) => {
    m.graph!.initializer!.push(
      onnx.TensorProto.create({
        name: 'unused',
        dataType: onnx.TensorProto.DataType.FLOAT,
        dims: [bytes / 4],
        rawData: new Uint8Array(bytes),
      }),
    );
  });
}

async function refusal(bytes: Uint8Array, m = manifest()) {
  const r = await checkModelGraph([bytes], m);
  return r.ok ? 'admitted' : { code: r.code, field: r.field };
}

describe('model admission: the graph', () => {
  it('admits a real model and reads its opset, input and output with their static dims', async () => {
    const r = await checkModelGraph([good()], manifest());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.graph.opsets.get('')).toBe(17);
    expect(r.graph.inputs).toEqual([{ name: 'image', elemType: 1, dims: [null, 1, 8, 8] }]);
    expect(r.graph.outputs).toEqual([{ name: 'logits', elemType: 1, dims: [null, 2] }]);
  });

  it('admits the demo detector with its manifest, and refuses it with the manifest of another input size', async () => {
    const bytes = buildNoduleDetectorOnnx(1);
    expect((await checkModelGraph([bytes], ModelManifest.parse(demoManifest(1)))).ok).toBe(true);
    const other = ModelManifest.parse(demoManifest(1, { inputSize: DEMO_INPUT_SIZE * 2 }));
    expect(await refusal(bytes, other)).toEqual({ code: 'input-shape-mismatch', field: 'input.height' });
  });

  it('refuses random bytes, a text file, an empty file and truncated real models as not-onnx', async () => {
    for (let seed = 0; seed < 20; seed++)
      expect(await refusal(randomBytes(64 + seed * 50))).toEqual({ code: 'not-onnx', field: 'onnx' });
    const text = new TextEncoder().encode('name,score\nmodel weights: see attached spreadsheet\n');
    expect(await refusal(text)).toEqual({ code: 'not-onnx', field: 'onnx' });
    expect(await refusal(new Uint8Array(0))).toEqual({ code: 'not-onnx', field: 'onnx' });
    const whole = withWeights(4096);
    for (const keep of [1, 10, whole.byteLength / 2, whole.byteLength - 1])
      expect(await refusal(whole.subarray(0, Math.floor(keep)))).toEqual({ code: 'not-onnx', field: 'onnx' });
  });

  it('refuses a manifest whose input name is not the graph input, naming input.name', async () => {
    expect(
      await refusal(good(), manifest({ input: { name: 'pixels', channels: 1, height: 8, width: 8 } })),
    ).toEqual({ code: 'input-name-mismatch', field: 'input.name' });
    const r = await checkModelGraph(
      [good()],
      manifest({ input: { name: 'pixels', channels: 1, height: 8, width: 8 } }),
    );
    expect(r.ok ? '' : r.reason).toContain("'image'");
  });

  it('refuses a graph with a second input, or an input that is not float32, naming input.name', async () => {
    const twoInputs = edited((m) => {
      m.graph!.input!.push(onnx.ValueInfoProto.create({ name: 'mask', type: m.graph!.input![0]!.type }));
    });
    expect(await refusal(twoInputs)).toEqual({ code: 'input-name-mismatch', field: 'input.name' });
    const uint8 = edited((m) => {
      m.graph!.input![0]!.type!.tensorType!.elemType = onnx.TensorProto.DataType.UINT8;
    });
    expect(await refusal(uint8)).toEqual({ code: 'input-type-mismatch', field: 'input.name' });
  });

  it('refuses channels, height or width that contradict static dims; symbolic dims are free', async () => {
    const dims = (channels: 1 | 3, height: number, width: number) =>
      manifest({ input: { name: 'image', channels, height, width } });
    expect(await refusal(good(), dims(3, 8, 8))).toEqual({
      code: 'input-shape-mismatch',
      field: 'input.channels',
    });
    expect(await refusal(good(), dims(1, 16, 8))).toEqual({
      code: 'input-shape-mismatch',
      field: 'input.height',
    });
    expect(await refusal(good(), dims(1, 8, 9))).toEqual({
      code: 'input-shape-mismatch',
      field: 'input.width',
    });
    const symbolic = edited((m) => {
      const dim = m.graph!.input![0]!.type!.tensorType!.shape!.dim!;
      dim[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'H' });
      dim[3] = onnx.TensorShapeProto.Dimension.create({ dimValue: -1 });
    });
    expect(await refusal(symbolic, dims(1, 512, 300))).toBe('admitted');
  });

  it('refuses an output name the graph lacks and an output index past its values', async () => {
    expect(
      await refusal(good(), manifest({ output: { name: 'prob', activation: 'sigmoid', index: 0 } })),
    ).toEqual({ code: 'output-name-mismatch', field: 'output.name' });
    expect(
      await refusal(good(), manifest({ output: { name: 'logits', activation: 'sigmoid', index: 2 } })),
    ).toEqual({ code: 'output-index-out-of-range', field: 'output.index' });
  });

  it('refuses a sigmoid threshold outside [0, 1]; a raw score threshold need only be finite', async () => {
    expect(await refusal(good(), manifest({ threshold: 1.5 }))).toEqual({
      code: 'threshold-out-of-range',
      field: 'threshold',
    });
    expect(await refusal(good(), manifest({ threshold: -0.1 }))).toEqual({
      code: 'threshold-out-of-range',
      field: 'threshold',
    });
    const raw = manifest({ threshold: 1.5, output: { name: 'logits', activation: 'none', index: 1 } });
    expect(await refusal(good(), raw)).toBe('admitted');
    expect(ModelManifest.safeParse({ ...raw, threshold: Number.POSITIVE_INFINITY }).success).toBe(false);
  });

  it('refuses an opset or IR version above what the bundled runtime loads', async () => {
    const at = (irVersion: number, opsets: { domain: string; version: number }[]) =>
      edited((m) => {
        m.irVersion = irVersion;
        m.opsetImport = opsets.map((o) => onnx.OperatorSetIdProto.create(o));
      });
    const top = { domain: '', version: MAX_SUPPORTED_OPSET };
    const ml = (version: number) => ({ domain: 'ai.onnx.ml', version });
    expect(await refusal(at(MAX_SUPPORTED_IR_VERSION, [top, ml(MAX_SUPPORTED_ML_OPSET)]))).toBe('admitted');
    expect(await refusal(at(10, [{ domain: '', version: MAX_SUPPORTED_OPSET + 1 }]))).toEqual({
      code: 'opset-unsupported',
      field: 'onnx',
    });
    expect(await refusal(at(10, [top, ml(MAX_SUPPORTED_ML_OPSET + 1)]))).toEqual({
      code: 'opset-unsupported',
      field: 'onnx',
    });
    expect(await refusal(at(MAX_SUPPORTED_IR_VERSION + 1, [top]))).toEqual({
      code: 'ir-version-unsupported',
      field: 'onnx',
    });
  });

  it('takes those limits from the bundled ONNX Runtime: it loads each and refuses the next', async () => {
    // An Identity graph: valid at every opset, so only the numbers decide.
    const identity = (irVersion: number, opsets: { domain: string; version: number }[]) => {
      const vi = (name: string) =>
        onnx.ValueInfoProto.create({
          name,
          type: {
            tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } },
          },
        });
      const graph = onnx.GraphProto.create({
        name: 'identity',
        input: [vi('x')],
        output: [vi('y')],
        node: [onnx.NodeProto.create({ opType: 'Identity', input: ['x'], output: ['y'] })],
      });
      return onnx.ModelProto.encode(
        onnx.ModelProto.create({ irVersion, opsetImport: opsets, graph }),
      ).finish();
    };
    const top = { domain: '', version: MAX_SUPPORTED_OPSET };
    const ml = (version: number) => ({ domain: 'ai.onnx.ml', version });
    const session = await ort.InferenceSession.create(
      identity(MAX_SUPPORTED_IR_VERSION, [top, ml(MAX_SUPPORTED_ML_OPSET)]),
    );
    await session.release();
    for (const refused of [
      identity(10, [{ domain: '', version: MAX_SUPPORTED_OPSET + 1 }]),
      identity(10, [top, ml(MAX_SUPPORTED_ML_OPSET + 1)]),
      identity(MAX_SUPPORTED_IR_VERSION + 1, [top]),
    ])
      await expect(ort.InferenceSession.create(refused)).rejects.toThrow();
  });
});

describe('model admission: bounded reading', () => {
  it('reads the graph from a stream of any chunking, holding the graph but not the weights', async () => {
    const bytes = withWeights(8 * 1024 * 1024);
    async function* chunks(size: number) {
      for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
    }
    // 8 MiB of weights through a 64 KiB cap: only the structure is kept.
    const graph = await readOnnxGraph(chunks(65_536), { maxRetainedBytes: 64 * 1024 });
    expect(graph.inputs.map((v) => v.name)).toEqual(['image']);
    const small = good();
    const odd = await checkModelGraph(
      Array.from({ length: Math.ceil(small.byteLength / 7) }, (_, i) => small.subarray(i * 7, i * 7 + 7)),
      manifest(),
    );
    expect(odd.ok).toBe(true);
  });

  it('reads a graph sent in two graph fields as protobuf merges them (weights appended after the model)', async () => {
    const bytes = largeOnnx(good(), 100_000, (n) => new Uint8Array(n));
    expect((await checkModelGraph([bytes], manifest())).ok).toBe(true);
  });

  it('refuses as not-onnx a graph whose structure alone passes the cap', async () => {
    const bloated = edited((m) => {
      m.docString = 'x'.repeat(200_000);
    });
    await expect(readOnnxGraph([bloated], { maxRetainedBytes: 100_000 })).rejects.toThrow(/larger than/);
  });

  it('turns a refusal into a 422 naming the field', async () => {
    const err = await admitOnnx([good()], manifest({ threshold: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'threshold-out-of-range', field: 'threshold' });
  });
});
