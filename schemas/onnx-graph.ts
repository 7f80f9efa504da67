import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * Reads an ONNX model's graph — opsets, inputs, outputs, initializer names — from a stream of its bytes,
 * without ever holding the weights. Shared by the cloud (admission of a vendor's upload, read back from the blob
 * store) and the agent (the same check before ONNX Runtime sees the bytes), which is why it lives in schemas/:
 * both may import it, and neither may import the other.
 *
 * onnx-proto decodes whole buffers only, and a model is mostly its weights (a 500 MiB model is 500 MiB of
 * initializer data). So the stream is first walked at the protobuf wire level and copied with the bulk fields
 * dropped: the data fields of every initializer (float_data … raw_data), sparse initializers and training
 * info. What remains — the nodes, value infos, names, dims — is decoded with onnx-proto. What is kept is capped
 * (`maxRetainedBytes`, 64 MiB by default): a graph whose structure alone is larger is refused as not-onnx,
 * so memory stays bounded whatever the upload. Weights embedded in Constant nodes are kept (and count towards
 * the cap); exporters put weights in initializers.
 */

export interface OnnxGraph {
  irVersion: number;
  /** opset_import: domain ('' = the default ai.onnx domain) → version. */
  opsets: Map<string, number>;
  /** Graph inputs that are fed at run time (initializers, which older IR versions also list, left out). */
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

export interface OnnxValue {
  name: string;
  /** TensorProto.DataType of a tensor value; undefined for non-tensors. */
  elemType?: number;
  /** Static dims as numbers; a symbolic or unknown dim is null. Undefined when the rank is unknown. */
  dims?: (number | null)[];
}

export class NotOnnx extends Error {}

const DEFAULT_MAX_RETAINED = 64 * 1024 * 1024;

/** Per message type: the field numbers to drop, and the ones to walk into with their own rule. */
interface PruneRule {
  drop: ReadonlySet<number>;
  descend: ReadonlyMap<number, PruneRule>;
  /**
   * Singular message fields among `descend`: protobuf merges repeated occurrences of one (ONNX Runtime does),
   * but onnx-proto's decoder keeps only the last, so their pruned payloads are joined into one field.
   */
  singular?: ReadonlySet<number>;
}

// TensorProto: 4 float_data, 5 int32_data, 6 string_data, 7 int64_data, 9 raw_data, 10 double_data, 11 uint64_data.
const TENSOR: PruneRule = { drop: new Set([4, 5, 6, 7, 9, 10, 11]), descend: new Map() };
// GraphProto: 5 initializer (walked: its name stays), 15 sparse_initializer.
const GRAPH: PruneRule = { drop: new Set([15]), descend: new Map([[5, TENSOR]]) };
// ModelProto: 7 graph, 20 training_info.
const MODEL: PruneRule = { drop: new Set([20]), descend: new Map([[7, GRAPH]]), singular: new Set([7]) };

/** Reads the graph from `chunks` (the model's bytes in order); throws NotOnnx when they are not an ONNX model. */
export async function readOnnxGraph(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: { maxRetainedBytes?: number } = {},
): Promise<OnnxGraph> {
  const reader = new ChunkReader(chunks, opts.maxRetainedBytes ?? DEFAULT_MAX_RETAINED);
  try {
    const pruned = await prune(reader, Number.POSITIVE_INFINITY, MODEL);
    return summarize(pruned);
  } finally {
    await reader.close();
  }
}

async function prune(reader: ChunkReader, length: number, rule: PruneRule): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const merged = new Map<number, Uint8Array[]>();
  const end = reader.offset + length;
  while (reader.offset < end) {
    const tagStart = reader.offset;
    const tag = await reader.varint(length === Number.POSITIVE_INFINITY);
    if (tag === null) break; // end of the stream at a field boundary of the top-level message
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new NotOnnx('field number 0');
    if (wire === 0) {
      const value = await reader.varintBytes();
      if (!rule.drop.has(field)) parts.push(encodeVarint(tag), value);
    } else if (wire === 1 || wire === 5) {
      const bytes = await reader.take(wire === 1 ? 8 : 4, !rule.drop.has(field));
      if (bytes) parts.push(encodeVarint(tag), bytes);
    } else if (wire === 2) {
      const size = await reader.varint(false);
      if (size === null || reader.offset + size > end) throw new NotOnnx('a field runs past its message');
      const sub = rule.descend.get(field);
      if (sub) {
        const inner = await prune(reader, size, sub);
        if (rule.singular?.has(field)) merged.set(field, [...(merged.get(field) ?? []), inner]);
        else parts.push(encodeVarint(tag), encodeVarint(inner.byteLength), inner);
      } else {
        const bytes = await reader.take(size, !rule.drop.has(field));
        if (bytes) parts.push(encodeVarint(tag), encodeVarint(bytes.byteLength), bytes);
      }
    } else throw new NotOnnx(`wire type ${wire} at byte ${tagStart}`); // groups (3, 4) are not in ONNX
    if (reader.offset > end) throw new NotOnnx('a field runs past its message');
  }
  for (const [field, payloads] of merged) {
    const inner = concat(payloads);
    parts.push(encodeVarint(field * 8 + 2), encodeVarint(inner.byteLength), inner);
  }
  return concat(parts);
}

function summarize(bytes: Uint8Array): OnnxGraph {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new NotOnnx(`not a ModelProto (${(err as Error).message.split('\n')[0]})`);
  }
  const irVersion = Number(model.irVersion ?? 0);
  if (!(irVersion > 0)) throw new NotOnnx('no ir_version');
  if (!model.graph) throw new NotOnnx('no graph');
  if (model.opsetImport.length === 0) throw new NotOnnx('no opset_import');
  const opsets = new Map<string, number>();
  for (const o of model.opsetImport) {
    const domain = o.domain === 'ai.onnx' ? '' : (o.domain ?? '');
    opsets.set(domain, Number(o.version ?? 0));
  }
  const graph = model.graph;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const value = (v: onnxProto.onnx.IValueInfoProto): OnnxValue => {
    const tensor = v.type?.tensorType;
    const out: OnnxValue = { name: v.name ?? '' };
    if (tensor) {
      out.elemType = tensor.elemType ?? 0;
      if (tensor.shape)
        out.dims = (tensor.shape.dim ?? []).map((d) => {
          const n = Number(d.dimValue ?? 0);
          return d.dimValue != null && n > 0 ? n : null;
        });
    }
    return out;
  };
  const outputs = graph.output ?? [];
  if (outputs.length === 0) throw new NotOnnx('the graph has no outputs');
  return {
    irVersion,
    opsets,
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(value),
    outputs: outputs.map(value),
  };
}

/** Pulls bytes from an (async) iterable of chunks; counts what callers keep against a cap. */
class ChunkReader {
  offset = 0;
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  private retained = 0;
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;

  constructor(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    private readonly maxRetained: number,
  ) {
    this.iterator =
      Symbol.asyncIterator in chunks
        ? (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        : (chunks as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  /** False at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.at >= this.chunk.byteLength) {
      const next = await this.iterator.next();
      if (next.done) return false;
      this.chunk = next.value;
      this.at = 0;
    }
    return true;
  }

  private async byte(): Promise<number | null> {
    if (!(await this.fill())) return null;
    this.offset++;
    return this.chunk[this.at++]!;
  }

  /** A varint as a number (tags and lengths: < 2^53); null at a clean end when `endOk`. */
  async varint(endOk: boolean): Promise<number | null> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte();
      if (b === null) {
        if (i === 0 && endOk) return null;
        throw new NotOnnx('the model ends inside a field');
      }
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) throw new NotOnnx('a length past 2^53');
        return value;
      }
      scale *= 128;
    }
    throw new NotOnnx('a varint longer than 10 bytes');
  }

  /** A varint's raw bytes (values are copied, not interpreted). */
  async varintBytes(): Promise<Uint8Array> {
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      const b = await this.byte();
      if (b === null) throw new NotOnnx('the model ends inside a field');
      out.push(b);
      if (b < 0x80) return this.keep(Uint8Array.from(out));
    }
    throw new NotOnnx('a varint longer than 10 bytes');
  }

  /** The next `n` bytes, copied when `keep`, else skipped (and null). */
  async take(n: number, keep: boolean): Promise<Uint8Array | null> {
    if (keep && this.retained + n > this.maxRetained)
      throw new NotOnnx(`the graph without its weights is larger than ${this.maxRetained} bytes`);
    const out = keep ? new Uint8Array(n) : null;
    let done = 0;
    while (done < n) {
      if (!(await this.fill())) throw new NotOnnx('the model ends inside a field');
      const step = Math.min(n - done, this.chunk.byteLength - this.at);
      out?.set(this.chunk.subarray(this.at, this.at + step), done);
      this.at += step;
      done += step;
      this.offset += step;
    }
    return out ? this.keep(out) : null;
  }

  private keep(bytes: Uint8Array): Uint8Array {
    this.retained += bytes.byteLength;
    if (this.retained > this.maxRetained)
      throw new NotOnnx(`the graph without its weights is larger than ${this.maxRetained} bytes`);
    return bytes;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** A protobuf varint (for tags and lengths up to 2^53). */
export function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
