import onnxProto from 'onnx-proto';

/**
 * The pieces the synthetic benchmark networks (ResNet-18, DenseNet-121) are built from: a seeded weight
 * generator and ONNX node helpers that name initializers like torchvision's state_dict (`<layer>.weight`,
 * `<bn>.running_mean`, …), so PyTorch can load the very same weights. Opset 17, float32.
 */

const { onnx } = onnxProto;
const FLOAT = 1;

type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[] };
export const ints = (name: string, v: number[]): Attr => ({ name, type: 7, ints: v });
export const int = (name: string, v: number): Attr => ({ name, type: 2, i: v });
const flt = (name: string, v: number): Attr => ({ name, type: 1, f: v });

export interface CnnGraph {
  normal(): number;
  tensor(name: string, dims: number[], data: Float32Array): void;
  node(opType: string, inputs: string[], output: string, attribute?: Attr[]): void;
  /** Convolution without bias, He (fan-in) initialised; returns its output name. */
  conv(name: string, x: string, cin: number, cout: number, k: number, stride: number, pad: number): string;
  /** Inference-mode batch normalisation with random statistics; returns its output name. */
  bn(name: string, x: string, c: number): string;
  relu(x: string): string;
  /** The ImageNet-style stem: 7×7/2 convolution, batch norm, ReLU, 3×3/2 max pool. */
  stem(conv: string, norm: string, pool: string, cout: number): string;
  /** Global average pool, flatten and a one-logit linear head named `<head>.weight` / `<head>.bias`. */
  logitHead(x: string, c: number, head: string): void;
  /** The model, input "image" N×3×size×size, output "logit" N×1, dynamic batch. */
  encode(name: string, docString: string, size: number): Uint8Array;
}

export function cnnGraph(seed: number, bnScale: { base: number; spread: number }): CnnGraph {
  let state = seed >>> 0 || 1;
  // xorshift32 + Box–Muller: deterministic, fast enough for millions of weights
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const nodes: ReturnType<typeof onnx.NodeProto.create>[] = [];
  const inits: ReturnType<typeof onnx.TensorProto.create>[] = [];

  const g: CnnGraph = {
    normal,
    tensor(name, dims, data) {
      inits.push(
        onnx.TensorProto.create({
          name,
          dims,
          dataType: FLOAT,
          rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        }),
      );
    },
    node(opType, inputs, output, attribute = []) {
      nodes.push(onnx.NodeProto.create({ opType, name: output, input: inputs, output: [output], attribute }));
    },
    conv(name, x, cin, cout, k, stride, pad) {
      const w = new Float32Array(cout * cin * k * k);
      const std = Math.sqrt(2 / (cin * k * k));
      for (let i = 0; i < w.length; i++) w[i] = normal() * std;
      g.tensor(`${name}.weight`, [cout, cin, k, k], w);
      g.node('Conv', [x, `${name}.weight`], name, [
        ints('kernel_shape', [k, k]),
        ints('strides', [stride, stride]),
        ints('pads', [pad, pad, pad, pad]),
      ]);
      return name;
    },
    bn(name, x, c) {
      const scale = new Float32Array(c);
      const bias = new Float32Array(c);
      const mean = new Float32Array(c);
      const variance = new Float32Array(c);
      for (let i = 0; i < c; i++) {
        scale[i] = bnScale.base + bnScale.spread * uniform();
        bias[i] = 0.05 * normal();
        mean[i] = 0.05 * normal();
        variance[i] = 1 + 0.1 * uniform();
      }
      g.tensor(`${name}.weight`, [c], scale);
      g.tensor(`${name}.bias`, [c], bias);
      g.tensor(`${name}.running_mean`, [c], mean);
      g.tensor(`${name}.running_var`, [c], variance);
      g.node(
        'BatchNormalization',
        [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`],
        name,
        [flt('epsilon', 1e-5)],
      );
      return name;
    },
    relu(x) {
      g.node('Relu', [x], `${x}.relu`);
      return `${x}.relu`;
    },
    stem(convName, norm, pool, cout) {
      const x = g.relu(g.bn(norm, g.conv(convName, 'image', 3, cout, 7, 2, 3), cout));
      g.node('MaxPool', [x], pool, [
        ints('kernel_shape', [3, 3]),
        ints('strides', [2, 2]),
        ints('pads', [1, 1, 1, 1]),
      ]);
      return pool;
    },
    logitHead(x, c, head) {
      g.node('GlobalAveragePool', [x], 'avgpool');
      g.node('Flatten', ['avgpool'], 'flatten', [int('axis', 1)]);
      const w = new Float32Array(c);
      for (let i = 0; i < c; i++) w[i] = normal() * Math.sqrt(1 / c);
      g.tensor(`${head}.weight`, [1, c], w);
      g.tensor(`${head}.bias`, [1], new Float32Array([0]));
      g.node('Gemm', ['flatten', `${head}.weight`, `${head}.bias`], 'logit', [int('transB', 1)]);
    },
    encode(name, docString, size) {
      const vi = (n: string, dims: (number | string)[]) =>
        onnx.ValueInfoProto.create({
          name: n,
          type: {
            tensorType: {
              elemType: FLOAT,
              shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
            },
          },
        });
      const model = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        producerName: 'cairn-synthetic',
        producerVersion: '1',
        docString,
        graph: onnx.GraphProto.create({
          name,
          node: nodes,
          initializer: inits,
          input: [vi('image', ['N', 3, size, size])],
          output: [vi('logit', ['N', 1])],
        }),
      });
      return onnx.ModelProto.encode(model).finish();
    },
  };
  return g;
}

/** The benchmark networks' manifest on CT: soft-tissue window, ImageNet-like normalisation, 3 channels. */
export function benchManifest(name: string, inputSize: number) {
  return {
    schema: 'cairn.model/v1' as const,
    vendor: 'cairn-bench',
    name,
    version: '1.0.0',
    task: 'binary-classification' as const,
    modality: ['CT'],
    input: {
      name: 'image',
      channels: 3 as const,
      height: inputSize,
      width: inputSize,
      window: { center: 40, width: 400 },
      normalize: { mean: 0.45, std: 0.225 },
    },
    output: { name: 'logit', activation: 'sigmoid' as const, index: 0 },
    threshold: 0.5,
    studyAggregation: 'max' as const,
  };
}
