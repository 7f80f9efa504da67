// Test helper (ort-warnings.test.ts): loads a model that makes ONNX Runtime warn (an unused initializer).
import onnxProto from 'onnx-proto';
import { createInferenceSession } from './infer.ts';
import { tinyModel } from './onnx-model.test-util.ts';

const { onnx } = onnxProto;
const model = onnx.ModelProto.decode(tinyModel({ channels: 1, height: 4, width: 4 }));
model.graph?.initializer?.push(
  onnx.TensorProto.create({
    name: 'unused',
    dataType: onnx.TensorProto.DataType.FLOAT,
    dims: [1],
    floatData: [1],
  }),
);
const { session, provider } = await createInferenceSession(onnx.ModelProto.encode(model).finish(), {
  device: 'cpu',
  threads: 1,
});
await session.release();
process.stdout.write(`${provider}\n`);
