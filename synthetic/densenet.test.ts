import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildDenseNet121Onnx, DENSENET121_BLOCKS } from './densenet.ts';

const { onnx } = onnxProto;

describe('DenseNet-121 builder', () => {
  it('has torchvision’s parameter count and names, opset 17', () => {
    const model = onnx.ModelProto.decode(buildDenseNet121Onnx());
    expect(Number(model.opsetImport[0]?.version)).toBe(17);
    const inits = model.graph?.initializer ?? [];
    let params = 0;
    for (const t of inits) {
      // torchvision counts BN weight/bias as parameters, running stats as buffers
      if (/running_(mean|var)$/.test(t.name ?? '')) continue;
      params += (t.dims as number[]).reduce((a, b) => a * Number(b), 1);
    }
    // torchvision.models.densenet121(num_classes=1): 6,954,881 parameters
    expect(params).toBe(6_954_881);
    const names = new Set(inits.map((t) => t.name));
    for (const n of [
      'features.conv0.weight',
      'features.norm0.running_var',
      'features.denseblock1.denselayer1.norm1.weight',
      'features.denseblock3.denselayer24.conv2.weight',
      'features.transition3.conv.weight',
      'features.norm5.bias',
      'classifier.weight',
    ])
      expect(names.has(n), n).toBe(true);
    expect(DENSENET121_BLOCKS).toEqual([6, 12, 24, 16]);
  });

  it('runs with a dynamic batch and gives finite, input-dependent logits (small variant)', async () => {
    const bytes = buildDenseNet121Onnx({ inputSize: 32, blocks: [2, 2] });
    const session = await ort.InferenceSession.create(bytes);
    const per = 3 * 32 * 32;
    for (const n of [1, 3]) {
      const data = new Float32Array(n * per).map((_, i) => Math.sin(i / 7 + Math.floor(i / per)));
      const out = await session.run({ image: new ort.Tensor('float32', data, [n, 3, 32, 32]) });
      const logits = out.logit!.data as Float32Array;
      expect(logits.length).toBe(n);
      expect([...logits].every(Number.isFinite)).toBe(true);
      if (n === 3) expect(logits[0]).not.toBe(logits[1]);
    }
    await session.release();
  });
});
