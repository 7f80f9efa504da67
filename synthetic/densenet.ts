import type { ModelManifestInput } from '../schemas/model-manifest.ts';
import { benchManifest, cnnGraph, int, ints } from './cnn-graph.ts';

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
  const g = cnnGraph(opts.seed ?? 121, { base: 0.9, spread: 0.2 });
  let x = g.stem('features.conv0', 'features.norm0', 'features.pool0', INIT_FEATURES);
  let c = INIT_FEATURES;
  blocks.forEach((layers, b) => {
    const block = `features.denseblock${b + 1}`;
    const maps = [x];
    let cin = c;
    for (let l = 1; l <= layers; l++) {
      const p = `${block}.denselayer${l}`;
      let input = maps[0]!;
      if (maps.length > 1) {
        g.node('Concat', [...maps], `${p}.cat`, [int('axis', 1)]);
        input = `${p}.cat`;
      }
      const y1 = g.relu(g.bn(`${p}.norm1`, input, cin));
      const y2 = g.relu(
        g.bn(`${p}.norm2`, g.conv(`${p}.conv1`, y1, cin, BN_SIZE * GROWTH, 1, 1, 0), BN_SIZE * GROWTH),
      );
      maps.push(g.conv(`${p}.conv2`, y2, BN_SIZE * GROWTH, GROWTH, 3, 1, 1));
      cin += GROWTH;
    }
    g.node('Concat', [...maps], `${block}.out`, [int('axis', 1)]);
    x = `${block}.out`;
    c = cin;
    if (b < blocks.length - 1) {
      const t = `features.transition${b + 1}`;
      const y = g.conv(`${t}.conv`, g.relu(g.bn(`${t}.norm`, x, c)), c, c / 2, 1, 1, 0);
      g.node('AveragePool', [y], `${t}.pool`, [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]);
      x = `${t}.pool`;
      c /= 2;
    }
  });
  x = g.relu(g.bn('features.norm5', x, c));
  g.logitHead(x, c, 'classifier');
  return g.encode('densenet121', 'DenseNet-121 (torchvision layout), random weights, 1 logit', size);
}

/** A manifest for the DenseNet-121 on CT: soft-tissue window, ImageNet-like normalisation, 3 channels. */
export function densenetManifest(inputSize = 224): ModelManifestInput {
  return benchManifest('densenet121-ct', inputSize);
}
