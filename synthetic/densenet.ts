import onnxProto from 'onnx-proto';
import type { ModelManifestInput } from '../schemas/model-manifest.ts';

/**
 * A DenseNet-121 (Huang et al. 2017; torchvision's layout and parameter names) as ONNX, built in TypeScript
 * with seeded random weights: the real architecture and cost (2.9 GFLOPs at 224×224, 7.0 M parameters) for the
 * GPU benchmark (`npm run bench -- --model densenet121`), without a committed binary or a download.
 * Initializers carry torchvision's state_dict names (features.conv0.weight,
 * features.denseblock1.denselayer1.norm1.running_mean, …, classifier.weight), so the benchmark's PyTorch peer
 * loads the very same weights into torchvision.models.densenet121(num_classes=1).
 *
 * Opset 17, dynamic batch: input "image" N×3×H×W float32, output "logit" N×1. Like torchvision's forward,
 * every dense layer concatenates all earlier feature maps of its block anew.
 */

const { onnx } = onnxProto;
const FLOAT = 1;
type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[] };
const ints = (name: string, v: number[]): Attr => ({ name, type: 7, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: 2, i: v });
const flt = (name: string, v: number): Attr => ({ name, type: 1, f: v });

export interface DenseNetOptions {
  inputSize?: number;
  seed?: number;
  /** Layers per dense block; torchvision's DenseNet-121 is [6, 12, 24, 16] (tests use fewer). */
  blocks?: readonly number[];
}

export const DENSENET121_BLOCKS = [6, 12, 24, 16] as const;
const GROWTH = 32;
const BN_SIZE = 4;
const INIT_FEATURES = 64;

export function buildDenseNet121Onnx(opts: DenseNetOptions = {}): Uint8Array {
  const size = opts.inputSize ?? 224;
  const blocks = opts.blocks ?? DENSENET121_BLOCKS;
  let state = (opts.seed ?? 121) >>> 0 || 1;
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
  const tensor = (name: string, dims: number[], data: Float32Array) =>
    inits.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: FLOAT,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
  const node = (opType: string, inputs: string[], output: string, attribute: Attr[] = []) =>
    nodes.push(onnx.NodeProto.create({ opType, name: output, input: inputs, output: [output], attribute }));

  const conv = (
    name: string,
    x: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    pad: number,
  ) => {
    const w = new Float32Array(cout * cin * k * k);
    const std = Math.sqrt(2 / (cin * k * k)); // He (fan-in)
    for (let i = 0; i < w.length; i++) w[i] = normal() * std;
    tensor(`${name}.weight`, [cout, cin, k, k], w);
    node('Conv', [x, `${name}.weight`], name, [
      ints('kernel_shape', [k, k]),
      ints('strides', [stride, stride]),
      ints('pads', [pad, pad, pad, pad]),
    ]);
    return name;
  };
  const bn = (name: string, x: string, c: number) => {
    const scale = new Float32Array(c);
    const bias = new Float32Array(c);
    const mean = new Float32Array(c);
    const variance = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = 0.9 + 0.2 * uniform();
      bias[i] = 0.05 * normal();
      mean[i] = 0.05 * normal();
      variance[i] = 1 + 0.1 * uniform();
    }
    tensor(`${name}.weight`, [c], scale);
    tensor(`${name}.bias`, [c], bias);
    tensor(`${name}.running_mean`, [c], mean);
    tensor(`${name}.running_var`, [c], variance);
    node(
      'BatchNormalization',
      [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`],
      name,
      [flt('epsilon', 1e-5)],
    );
    return name;
  };
  const relu = (x: string) => {
    node('Relu', [x], `${x}.relu`);
    return `${x}.relu`;
  };

  let x = relu(
    bn('features.norm0', conv('features.conv0', 'image', 3, INIT_FEATURES, 7, 2, 3), INIT_FEATURES),
  );
  node('MaxPool', [x], 'features.pool0', [
    ints('kernel_shape', [3, 3]),
    ints('strides', [2, 2]),
    ints('pads', [1, 1, 1, 1]),
  ]);
  x = 'features.pool0';
  let c = INIT_FEATURES;
  blocks.forEach((layers, b) => {
    const block = `features.denseblock${b + 1}`;
    const maps = [x];
    let cin = c;
    for (let l = 1; l <= layers; l++) {
      const p = `${block}.denselayer${l}`;
      let input = maps[0]!;
      if (maps.length > 1) {
        node('Concat', [...maps], `${p}.cat`, [int('axis', 1)]);
        input = `${p}.cat`;
      }
      const y1 = relu(bn(`${p}.norm1`, input, cin));
      const y2 = relu(
        bn(`${p}.norm2`, conv(`${p}.conv1`, y1, cin, BN_SIZE * GROWTH, 1, 1, 0), BN_SIZE * GROWTH),
      );
      maps.push(conv(`${p}.conv2`, y2, BN_SIZE * GROWTH, GROWTH, 3, 1, 1));
      cin += GROWTH;
    }
    node('Concat', [...maps], `${block}.out`, [int('axis', 1)]);
    x = `${block}.out`;
    c = cin;
    if (b < blocks.length - 1) {
      const t = `features.transition${b + 1}`;
      const y = conv(`${t}.conv`, relu(bn(`${t}.norm`, x, c)), c, c / 2, 1, 1, 0);
      node('AveragePool', [y], `${t}.pool`, [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]);
      x = `${t}.pool`;
      c /= 2;
    }
  });
  x = relu(bn('features.norm5', x, c));
  node('GlobalAveragePool', [x], 'avgpool');
  node('Flatten', ['avgpool'], 'flatten', [int('axis', 1)]);
  const fcw = new Float32Array(c);
  for (let i = 0; i < c; i++) fcw[i] = normal() * Math.sqrt(1 / c);
  tensor('classifier.weight', [1, c], fcw);
  tensor('classifier.bias', [1], new Float32Array([0]));
  node('Gemm', ['flatten', 'classifier.weight', 'classifier.bias'], 'logit', [int('transB', 1)]);

  const vi = (name: string, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({
      name,
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
    docString: 'DenseNet-121 (torchvision layout), random weights, 1 logit',
    graph: onnx.GraphProto.create({
      name: 'densenet121',
      node: nodes,
      initializer: inits,
      input: [vi('image', ['N', 3, size, size])],
      output: [vi('logit', ['N', 1])],
    }),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A manifest for the DenseNet-121 on CT: soft-tissue window, ImageNet-like normalisation, 3 channels. */
export function densenetManifest(inputSize = 224): ModelManifestInput {
  return {
    schema: 'cairn.model/v1',
    vendor: 'cairn-bench',
    name: 'densenet121-ct',
    version: '1.0.0',
    task: 'binary-classification',
    modality: ['CT'],
    input: {
      name: 'image',
      channels: 3,
      height: inputSize,
      width: inputSize,
      window: { center: 40, width: 400 },
      normalize: { mean: 0.45, std: 0.225 },
    },
    output: { name: 'logit', activation: 'sigmoid', index: 0 },
    threshold: 0.5,
    studyAggregation: 'max',
  };
}
