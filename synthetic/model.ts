import onnxProto from 'onnx-proto';
import type { ModelManifestInput } from '../schemas/model-manifest.ts';

/**
 * The demo vendor's "lung nodule detector": tiny CNNs with hand-set weights, built as ONNX at run time so that
 * no binary model is committed. The weights are not learned but they do look at the pixels: a nodule is a
 * bright blob inside dark lung, and the score is the strongest blob response in the image.
 *
 * v1 is a single difference-of-Gaussians blob filter. It also fires on small bright vessel cross-sections and
 * on the lung boundary, so it separates classes only moderately.
 * v2 first smooths at the nodule scale (thin vessels fade, nodules do not), then asks, at two radii, whether
 * the centre is brighter than the lung in every one of eight directions; the weakest direction is the score.
 * Structures that continue in some direction (chest wall, mediastinum, elongated vessels) fail that test.
 */

// onnx-proto is CommonJS whose named export Node cannot detect; take it off the default export.
const { onnx } = onnxProto;

export const DEMO_INPUT_SIZE = 64;

/** Lung window: lung parenchyma near 0.25, soft tissue and nodules near 0.9 after the linear VOI LUT. */
export const DEMO_WINDOW = { center: -500, width: 1400 } as const;
export const DEMO_NORMALIZE = { mean: 0.5, std: 0.25 } as const;

/** The model input value of a given HU under the demo manifest's linear VOI LUT and normalisation. */
export function normalizedHu(hu: number): number {
  const { center: c, width: w } = DEMO_WINDOW;
  const lo = c - 0.5 - (w - 1) / 2;
  const hi = c - 0.5 + (w - 1) / 2;
  const v = hu <= lo ? 0 : hu > hi ? 1 : (hu - (c - 0.5)) / (w - 1) + 0.5;
  return (v - DEMO_NORMALIZE.mean) / DEMO_NORMALIZE.std;
}

const FLOAT = 1;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[] };
const ints = (name: string, values: number[]): Attr => ({ name, type: ATTR_INTS, ints: values });
const int = (name: string, value: number): Attr => ({ name, type: ATTR_INT, i: value });
const float = (name: string, value: number): Attr => ({ name, type: ATTR_FLOAT, f: value });

function node(opType: string, inputs: string[], outputs: string[], attribute: Attr[] = []) {
  return onnx.NodeProto.create({ opType, name: outputs[0], input: inputs, output: outputs, attribute });
}

function tensor(name: string, dims: number[], data: Float32Array | number[]) {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, floatData: Array.from(data) });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** Normalised 2-D Gaussian sampled on a (2h+1)² grid. */
function gaussian(sigma: number, h: number): Float32Array {
  const n = 2 * h + 1;
  const k = new Float32Array(n * n);
  let sum = 0;
  for (let y = -h; y <= h; y++) {
    for (let x = -h; x <= h; x++) {
      const v = Math.exp(-(x * x + y * y) / (2 * sigma * sigma));
      k[(y + h) * n + (x + h)] = v;
      sum += v;
    }
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  return k;
}

/** Centre-surround kernel: sums to zero, so a flat region (and the normalisation mean) gives no response. */
function differenceOfGaussians(sigmaCentre: number, sigmaSurround: number, h: number): Float32Array {
  const c = gaussian(sigmaCentre, h);
  const s = gaussian(sigmaSurround, h);
  return c.map((v, i) => v - s[i]!);
}

/**
 * Eight kernels, one per direction: centre pixel minus the (bilinearly interpolated) pixel at distance `radius`
 * in that direction. Each sums to zero.
 */
function directionalDifferences(radius: number, h: number, directions = 8): Float32Array {
  const n = 2 * h + 1;
  const out = new Float32Array(directions * n * n);
  for (let d = 0; d < directions; d++) {
    const base = d * n * n;
    out[base + h * n + h] = 1;
    const angle = (2 * Math.PI * d) / directions;
    const px = h + radius * Math.cos(angle);
    const py = h + radius * Math.sin(angle);
    const x0 = Math.floor(px);
    const y0 = Math.floor(py);
    const fx = px - x0;
    const fy = py - y0;
    const taps: [number, number, number][] = [
      [x0, y0, (1 - fx) * (1 - fy)],
      [x0 + 1, y0, fx * (1 - fy)],
      [x0, y0 + 1, (1 - fx) * fy],
      [x0 + 1, y0 + 1, fx * fy],
    ];
    for (const [x, y, w] of taps) {
      if (w === 0) continue;
      out[base + y * n + x] = out[base + y * n + x]! - w;
    }
  }
  return out;
}

export interface DetectorParams {
  inputSize: number;
  /** Gemm: logit = scale × (feature − offset). */
  scale: number;
  offset: number;
}

export interface DogParams extends DetectorParams {
  sigmaCentre: number;
  sigmaSurround: number;
}

export interface RingParams extends DetectorParams {
  /** Inputs above this (normalised) value are flattened, so bone is no brighter than soft tissue or nodules. */
  clipAt: number;
  smoothSigma: number;
  radii: number[];
  /** Directions tested around each centre; enough that a thin curved band (the chest wall) always continues in one. */
  directions: number;
}

function modelProto(
  nodes: ReturnType<typeof node>[],
  initializers: ReturnType<typeof tensor>[],
  s: number,
  doc: string,
) {
  const graph = onnx.GraphProto.create({
    name: 'nodule_detector',
    node: nodes,
    initializer: initializers,
    input: [valueInfo('image', ['N', 1, s, s])],
    output: [valueInfo('logit', ['N', 1])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cairn-synthetic',
    producerVersion: '1',
    docString: doc,
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

function gemmNodes(feature: string, p: DetectorParams) {
  return {
    nodes: [
      node('Flatten', [feature], ['flat'], [int('axis', 1)]),
      node(
        'Gemm',
        ['flat', 'gemm_w', 'gemm_b'],
        ['logit'],
        [float('alpha', 1), float('beta', 1), int('transB', 1)],
      ),
    ],
    init: [tensor('gemm_w', [1, 1], [p.scale]), tensor('gemm_b', [1], [-p.scale * p.offset])],
  };
}

export function buildDogDetector(p: DogParams): Uint8Array {
  const h = Math.ceil(p.sigmaSurround * 3);
  const k = 2 * h + 1;
  const head = gemmNodes('pooled', p);
  return modelProto(
    [
      node('Conv', ['image', 'dog_w'], ['blob'], [ints('kernel_shape', [k, k]), ints('pads', [h, h, h, h])]),
      node('Relu', ['blob'], ['blob_relu']),
      node('GlobalMaxPool', ['blob_relu'], ['pooled']),
      ...head.nodes,
    ],
    [tensor('dog_w', [1, 1, k, k], differenceOfGaussians(p.sigmaCentre, p.sigmaSurround, h)), ...head.init],
    p.inputSize,
    'lung-nodule-ct 1.0.0: difference-of-Gaussians blob filter, global max.',
  );
}

export function buildRingDetector(p: RingParams): Uint8Array {
  const hs = Math.max(1, Math.ceil(p.smoothSigma * 3));
  const ks = 2 * hs + 1;
  const nodes = [
    node('Min', ['image', 'clip_max'], ['clipped']),
    node(
      'Conv',
      ['clipped', 'smooth_w'],
      ['smooth'],
      [ints('kernel_shape', [ks, ks]), ints('pads', [hs, hs, hs, hs])],
    ),
  ];
  const init = [
    tensor('clip_max', [1], [p.clipAt]),
    tensor('smooth_w', [1, 1, ks, ks], gaussian(p.smoothSigma, hs)),
  ];
  const perScale: string[] = [];
  p.radii.forEach((r, i) => {
    const h = Math.ceil(r) + 1;
    const k = 2 * h + 1;
    init.push(tensor(`ring${i}_w`, [p.directions, 1, k, k], directionalDifferences(r, h, p.directions)));
    nodes.push(
      node(
        'Conv',
        ['smooth', `ring${i}_w`],
        [`ring${i}`],
        [ints('kernel_shape', [k, k]), ints('pads', [h, h, h, h])],
      ),
      // The weakest direction decides: a blob must be brighter than its surroundings all the way round.
      node('ReduceMin', [`ring${i}`], [`ring${i}_min`], [ints('axes', [1]), int('keepdims', 1)]),
    );
    perScale.push(`ring${i}_min`);
  });
  nodes.push(
    node('Max', perScale, ['blob']),
    node('Relu', ['blob'], ['blob_relu']),
    node('GlobalMaxPool', ['blob_relu'], ['pooled']),
  );
  const head = gemmNodes('pooled', p);
  nodes.push(...head.nodes);
  init.push(...head.init);
  return modelProto(
    nodes,
    init,
    p.inputSize,
    'lung-nodule-ct 2.0.0: nodule-scale smoothing, eight-direction centre-surround test at two radii, global max.',
  );
}

/**
 * Parameters of the two demo versions at 64 px input (radii and sigmas scale with the input size). The Gemm
 * offsets put logit 0 (probability 0.5, the manifest threshold) where, on the demo sites, v1 has sensitivity
 * ≈ 0.70 / specificity ≈ 0.73 and v2 ≈ 0.84 / 0.82 per study; the scales spread logits over about ±5.
 */
const V1: Omit<DogParams, 'inputSize'> = { sigmaCentre: 1.2, sigmaSurround: 3, scale: 25, offset: 1.07 };
const V2: Omit<RingParams, 'inputSize'> = {
  clipAt: normalizedHu(-50),
  smoothSigma: 1,
  radii: [3, 5],
  directions: 16,
  scale: 6,
  offset: 0.65,
};

export function buildNoduleDetectorOnnx(version: 1 | 2, opts: { inputSize?: number } = {}): Uint8Array {
  const s = opts.inputSize ?? DEMO_INPUT_SIZE;
  const f = s / DEMO_INPUT_SIZE;
  if (version === 1) {
    return buildDogDetector({
      ...V1,
      inputSize: s,
      sigmaCentre: V1.sigmaCentre * f,
      sigmaSurround: V1.sigmaSurround * f,
    });
  }
  return buildRingDetector({
    ...V2,
    inputSize: s,
    smoothSigma: V2.smoothSigma * f,
    radii: V2.radii.map((r) => r * f),
  });
}

export function demoManifest(version: 1 | 2, opts: { inputSize?: number } = {}): ModelManifestInput {
  const s = opts.inputSize ?? DEMO_INPUT_SIZE;
  return {
    schema: 'cairn.model/v1',
    vendor: 'acme-ai',
    name: 'lung-nodule-ct',
    version: version === 1 ? '1.0.0' : '2.0.0',
    task: 'binary-classification',
    modality: ['CT'],
    bodyPart: ['CHEST'],
    input: {
      name: 'image',
      channels: 1,
      height: s,
      width: s,
      window: { ...DEMO_WINDOW },
      normalize: { ...DEMO_NORMALIZE },
      resize: 'bilinear',
    },
    output: { name: 'logit', activation: 'sigmoid', index: 0 },
    threshold: 0.5,
    studyAggregation: 'max',
    description:
      version === 1
        ? 'Synthetic demo model: single-scale blob filter.'
        : 'Synthetic demo model: multi-scale centre-surround nodule filter with vessel suppression.',
  };
}
