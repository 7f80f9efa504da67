import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * Models that are valid ONNX graphs (they parse, every node is a standard opset-17 op, inputs and outputs
 * are named as the manifest says) but that ONNX Runtime cannot load or cannot run — what a careless or hostile
 * vendor could get past a structural check.
 */

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function graphModel(
  nodes: onnxProto.onnx.INodeProto[],
  initializer: onnxProto.onnx.ITensorProto[],
  size: number,
) {
  const io = (name: string, dims: onnxProto.onnx.TensorShapeProto.IDimension[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims } } } });
  const graph = onnx.GraphProto.create({
    name: 'broken',
    input: [io('image', [{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: size }, { dimValue: size }])],
    output: [io('logit', [{ dimParam: 'N' }, { dimValue: 1 }])],
    initializer,
    node: nodes,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'cairn-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Loads, then fails on every run: the image is reshaped to 7 × 3, which no image has as many values as. */
export function impossibleReshapeOnnx(size: number): Uint8Array {
  return graphModel(
    [onnx.NodeProto.create({ opType: 'Reshape', input: ['image', 'shape'], output: ['logit'] })],
    [onnx.TensorProto.create({ name: 'shape', dataType: INT64, dims: [2], int64Data: [7, 3] })],
    size,
  );
}

/** Cannot be loaded: Add of a float image and an int64 constant (ONNX Runtime's type check refuses the graph). */
export function typeMismatchOnnx(size: number): Uint8Array {
  return graphModel(
    [
      onnx.NodeProto.create({ opType: 'Add', input: ['image', 'one'], output: ['sum'] }),
      onnx.NodeProto.create({
        opType: 'ReduceMax',
        input: ['sum'],
        output: ['logit'],
        attribute: [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 3] }],
      }),
    ],
    [onnx.TensorProto.create({ name: 'one', dataType: INT64, dims: [1], int64Data: [1] })],
    size,
  );
}
