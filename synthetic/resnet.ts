import type { ModelManifestInput } from '../schemas/model-manifest.ts';
import { benchManifest, cnnGraph } from './cnn-graph.ts';

/**
 * A ResNet-18 (He et al. 2016; torchvision's layout and parameter names) as ONNX, built in TypeScript with
 * seeded random weights: the real architecture and cost (1.8 GFLOPs at 224×224) for throughput checks
 * (`agent doctor`, `npm run bench`), without a committed binary or a download. Initializers carry
 * torchvision's state_dict names (conv1.weight, layer1.0.bn1.running_mean, …, fc.weight), so the
 * benchmark's PyTorch peer loads the very same weights into torchvision.models.resnet18.
 *
 * One output logit ("logit", N×1); input "image", N×3×H×W float32.
 */

export interface ResNetOptions {
  inputSize?: number;
  seed?: number;
}

export function buildResNet18Onnx(opts: ResNetOptions = {}): Uint8Array {
  const size = opts.inputSize ?? 224;
  const g = cnnGraph(opts.seed ?? 18, { base: 0.5, spread: 0.1 });
  let x = g.stem('conv1', 'bn1', 'maxpool', 64);
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
      const y1 = g.relu(g.bn(`${p}.bn1`, g.conv(`${p}.conv1`, x, cin, cout, 3, s, 1), cout));
      const y2 = g.bn(`${p}.bn2`, g.conv(`${p}.conv2`, y1, cout, cout, 3, 1, 1), cout);
      let identity = x;
      if (s !== 1 || cin !== cout) {
        identity = g.bn(`${p}.downsample.1`, g.conv(`${p}.downsample.0`, x, cin, cout, 1, s, 0), cout);
      }
      g.node('Add', [y2, identity], `${p}.add`);
      x = g.relu(`${p}.add`);
      cin = cout;
    }
  }
  g.logitHead(x, 512, 'fc');
  return g.encode('resnet18', 'ResNet-18 (torchvision layout), random weights, 1 logit', size);
}

/** A manifest for the ResNet-18 on CT: soft-tissue window, ImageNet-like normalisation, 3 channels. */
export function resnetManifest(inputSize = 224): ModelManifestInput {
  return benchManifest('resnet18-ct', inputSize);
}
