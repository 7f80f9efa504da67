import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * A tiny classifier built at test time (opset 17) whose output has a closed form, so tests can check scores
 * exactly: logits[n] = mean(image[n]) · weights + bias, shape [N, 2].
 *
 *   image [N,C,H,W] → ReduceMean(axes 1,2,3, keepdims) → Flatten → Gemm(W [1,2], B [2]) → logits
 */
export interface TinyModelOptions {
  inputName?: string;
  outputName?: string;
  channels: number;
  height: number;
  width: number;
  /** Weights for [class 0, class 1]. */
  weights?: [number, number];
  bias?: [number, number];
  /** A number fixes the batch dimension (e.g. 1); default is the symbolic 'N'. */
  batch?: number;
}

export function tinyModel(opts: TinyModelOptions): Uint8Array {
  const inputName = opts.inputName ?? 'image';
  const outputName = opts.outputName ?? 'logits';
  const weights = opts.weights ?? [-1, 1];
  const bias = opts.bias ?? [0, 0];
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const batchDim = opts.batch === undefined ? { dimParam: 'N' } : { dimValue: opts.batch };
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    input: [
      onnx.ValueInfoProto.create({
        name: inputName,
        type: {
          tensorType: {
            elemType: FLOAT,
            shape: {
              dim: [
                batchDim,
                { dimValue: opts.channels },
                { dimValue: opts.height },
                { dimValue: opts.width },
              ],
            },
          },
        },
      }),
    ],
    output: [
      onnx.ValueInfoProto.create({
        name: outputName,
        type: { tensorType: { elemType: FLOAT, shape: { dim: [batchDim, { dimValue: 2 }] } } },
      }),
    ],
    initializer: [
      onnx.TensorProto.create({ name: 'W', dataType: FLOAT, dims: [1, 2], floatData: weights }),
      onnx.TensorProto.create({ name: 'B', dataType: FLOAT, dims: [2], floatData: bias }),
    ],
    node: [
      onnx.NodeProto.create({
        opType: 'ReduceMean',
        input: [inputName],
        output: ['m'],
        attribute: [
          { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2, 3] },
          { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
        ],
      }),
      onnx.NodeProto.create({
        opType: 'Flatten',
        input: ['m'],
        output: ['f'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      }),
      onnx.NodeProto.create({ opType: 'Gemm', input: ['f', 'W', 'B'], output: [outputName] }),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'cairn-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
