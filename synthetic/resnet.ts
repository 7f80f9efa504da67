import onnxProto from 'onnx-proto';
import type { ModelManifestInput } from '../schemas/model-manifest.ts';

/**
 * A ResNet-18 (He et al. 2016; torchvision's layout and parameter names) as ONNX, built in TypeScript with
 * seeded random weights: the real architecture and cost (1.8 GFLOPs at 224×224) for throughput checks
 * (`agent doctor`, `npm run bench`), without a committed binary or a download. Initializers carry
 * torchvision's state_dict names (conv1.weight, layer1.0.bn1.running_mean, …, fc.weight), so the
 * benchmark's PyTorch peer loads the very same weights into torchvision.models.resnet18.
 *
 * One output logit ("logit", N×1); input "image", N×3×H×W float32.
 */

const { onnx } = onnxProto;
const FLOAT = 1;
type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[] };
const ints = (name: string, v: number[]): Attr => ({ name, type: 7, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: 2, i: v });
const flt = (name: string, v: number): Attr => ({ name, type: 1, f: v });

export interface ResNetOptions {
  inputSize?: number;
  seed?: number;
}

export function buildResNet18Onnx(opts: ResNetOptions = {}): Uint8Array {
  const size = opts.inputSize ?? 224;
  let state = (opts.seed ?? 18) >>> 0 || 1;
  // xorshift32 + Box–Muller: deterministic, fast enough for 11.7 M weights
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
      scale[i] = 0.5 + 0.1 * uniform();
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

  let x = relu(bn('bn1', conv('conv1', 'image', 3, 64, 7, 2, 3), 64));
  node('MaxPool', [x], 'maxpool', [
    ints('kernel_shape', [3, 3]),
    ints('strides', [2, 2]),
    ints('pads', [1, 1, 1, 1]),
  ]);
  x = 'maxpool';
  let cin = 64;
  for (const [layer, cout, stride] of [
    [1, 64, 1],
    [2, 128, 2],
    [3, 256, 2],
    [4, 512, 2],
  ] as const) {
    for (let b = 0; b < 2; b++) {
      const p = `layer${layer}.${b}`;
      const s = b === 0 ? stride : 1;
      const y1 = relu(bn(`${p}.bn1`, conv(`${p}.conv1`, x, cin, cout, 3, s, 1), cout));
      const y2 = bn(`${p}.bn2`, conv(`${p}.conv2`, y1, cout, cout, 3, 1, 1), cout);
      let identity = x;
      if (s !== 1 || cin !== cout) {
        identity = bn(`${p}.downsample.1`, conv(`${p}.downsample.0`, x, cin, cout, 1, s, 0), cout);
      }
      node('Add', [y2, identity], `${p}.add`);
      x = relu(`${p}.add`);
      cin = cout;
    }
  }
  node('GlobalAveragePool', [x], 'avgpool');
  node('Flatten', ['avgpool'], 'flatten', [int('axis', 1)]);
  const fcw = new Float32Array(512);
  for (let i = 0; i < 512; i++) fcw[i] = normal() * Math.sqrt(1 / 512);
  tensor('fc.weight', [1, 512], fcw);
  tensor('fc.bias', [1], new Float32Array([0]));
  node('Gemm', ['flatten', 'fc.weight', 'fc.bias'], 'logit', [int('transB', 1)]);

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
    docString: 'ResNet-18 (torchvision layout), random weights, 1 logit',
    graph: onnx.GraphProto.create({
      name: 'resnet18',
      node: nodes,
      initializer: inits,
      input: [vi('image', ['N', 3, size, size])],
      output: [vi('logit', ['N', 1])],
    }),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A manifest for the ResNet-18 on CT: soft-tissue window, ImageNet-like normalisation, 3 channels. */
export function resnetManifest(inputSize = 224): ModelManifestInput {
  return {
    schema: 'cairn.model/v1',
    vendor: 'cairn-bench',
    name: 'resnet18-ct',
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
