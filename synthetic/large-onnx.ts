import { encodeVarint } from '../schemas/onnx-graph.ts';

const varint = (n: number) => [...encodeVarint(n)];

/**
 * A valid ONNX model of any size: a real small model followed by one more (unused) initializer of `weightBytes`
 * bytes of raw data. Protobuf merges a repeated embedded message field, so the appended `graph` field adds the
 * initializer to the model's graph; ONNX Runtime loads it like any model with weights. The header is built
 * here and the weights are the caller's to write (streaming, for models of hundreds of MiB).
 */

/** The bytes that go before `weightBytes` bytes of weights: the model, then the graph/initializer framing. */
export function largeOnnxHeader(model: Uint8Array, weightBytes: number): Uint8Array {
  if (!Number.isSafeInteger(weightBytes) || weightBytes < 0 || weightBytes % 4 !== 0)
    throw new RangeError('weightBytes: a whole number of float32 values');
  // TensorProto: dims (1) = n, data_type (2) = FLOAT, name (8) = 'padding', raw_data (9) = the weights.
  const name = new TextEncoder().encode('padding');
  const tensorHead = [
    0x08,
    ...varint(weightBytes / 4),
    0x10,
    1,
    0x42,
    ...varint(name.byteLength),
    ...name,
    0x4a,
    ...varint(weightBytes),
  ];
  const tensorSize = tensorHead.length + weightBytes;
  const graphHead = [0x2a, ...varint(tensorSize)]; // GraphProto.initializer (5)
  const graphSize = graphHead.length + tensorSize;
  const modelHead = [0x3a, ...varint(graphSize)]; // ModelProto.graph (7)
  return new Uint8Array(Buffer.concat([model, Uint8Array.from([...modelHead, ...graphHead, ...tensorHead])]));
}

/** The whole model in memory (small sizes, for tests): at most `size` bytes and within 4 of it. */
export function largeOnnx(model: Uint8Array, size: number, fill: (n: number) => Uint8Array): Uint8Array {
  // The header's length depends on the weights' (varints): the largest weight size that fits.
  for (let w = Math.floor((size - model.byteLength) / 4) * 4; w >= 0; w -= 4) {
    const head = largeOnnxHeader(model, w);
    if (head.byteLength + w <= size) return new Uint8Array(Buffer.concat([head, fill(w)]));
  }
  throw new RangeError(`a model of ${size} bytes is smaller than the model it pads`);
}
