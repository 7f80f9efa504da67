import type { ModelManifest } from './model-manifest.ts';
import { NotOnnx, type OnnxGraph, readOnnxGraph } from './onnx-graph.ts';

/**
 * Whether an ONNX model and its manifest fit together and can run on the agent's ONNX Runtime: the check the
 * cloud makes on every submission (functions/models/admission.ts) and the agent repeats before it loads a
 * model (edge-agent/pipeline/infer.ts). Pure; in schemas/ because both sides import it.
 */

/**
 * The highest default-domain (ai.onnx) opset the bundled onnxruntime-node 1.30 loads: measured, not read from a
 * table — it loads an opset-26 model and refuses opset 27 at session creation ("ValidateOpsetForDomain",
 * core/graph/model_load_utils.h). functions/models/admission.test.ts loads both with the installed runtime, so
 * an upgrade of onnxruntime-node that moves the limit fails that test until this number follows.
 */
export const MAX_SUPPORTED_OPSET = 26;
/** The same, measured the same way, for the ai.onnx.ml domain (5 loads, 6 is refused). */
export const MAX_SUPPORTED_ML_OPSET = 5;
/** The highest ONNX IR version it loads (13 loads, 14 is refused in onnxruntime::Model::Model, model.cc). */
export const MAX_SUPPORTED_IR_VERSION = 13;

export type ModelRefusalCode =
  | 'not-onnx'
  | 'opset-unsupported'
  | 'ir-version-unsupported'
  | 'input-name-mismatch'
  | 'input-type-mismatch'
  | 'input-shape-mismatch'
  | 'output-name-mismatch'
  | 'output-index-out-of-range'
  | 'threshold-out-of-range';

export interface ModelRefusal {
  code: ModelRefusalCode;
  /** The manifest field that does not fit (`onnx` when the bytes themselves are the problem). */
  field: string;
  reason: string;
}

export type ModelGraphCheck = { ok: true; graph: OnnxGraph } | ({ ok: false } & ModelRefusal);

/** Reads the graph from `chunks` (bounded: see onnx-graph.ts) and checks it against the manifest. */
export async function checkModelGraph(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  manifest: ModelManifest,
): Promise<ModelGraphCheck> {
  const threshold = checkThreshold(manifest);
  if (threshold) return { ok: false, ...threshold };
  let graph: OnnxGraph;
  try {
    graph = await readOnnxGraph(chunks);
  } catch (err) {
    if (!(err instanceof NotOnnx)) throw err;
    return refuse('not-onnx', 'onnx', `The file is not an ONNX model: ${err.message}.`);
  }
  const refusal = checkGraph(graph, manifest);
  return refusal ? { ok: false, ...refusal } : { ok: true, graph };
}

/** A sigmoid output is a probability, so its threshold is one; a raw score's threshold need only be finite. */
export function checkThreshold(manifest: ModelManifest): ModelRefusal | undefined {
  const t = manifest.threshold;
  if (!Number.isFinite(t))
    return {
      code: 'threshold-out-of-range',
      field: 'threshold',
      reason: 'threshold must be a finite number.',
    };
  if (manifest.output.activation === 'sigmoid' && (t < 0 || t > 1))
    return {
      code: 'threshold-out-of-range',
      field: 'threshold',
      reason: `threshold ${t} is outside [0, 1], the range of a sigmoid output.`,
    };
  return undefined;
}

const FLOAT = 1;

function checkGraph(graph: OnnxGraph, manifest: ModelManifest): ModelRefusal | undefined {
  const runtime = "the agents' ONNX Runtime (onnxruntime-node 1.30)";
  if (graph.irVersion > MAX_SUPPORTED_IR_VERSION)
    return {
      code: 'ir-version-unsupported',
      field: 'onnx',
      reason: `The model has ONNX IR version ${graph.irVersion}; ${runtime} loads IR versions up to ${MAX_SUPPORTED_IR_VERSION}.`,
    };
  for (const [domain, max] of [
    ['', MAX_SUPPORTED_OPSET],
    ['ai.onnx.ml', MAX_SUPPORTED_ML_OPSET],
  ] as const) {
    const opset = graph.opsets.get(domain);
    if (opset !== undefined && opset > max)
      return {
        code: 'opset-unsupported',
        field: 'onnx',
        reason: `The model needs ${domain || 'ai.onnx'} opset ${opset}; ${runtime} runs opsets up to ${max} there.`,
      };
  }
  const { input, output } = manifest;
  const names = (values: { name: string }[]) => values.map((v) => `'${v.name}'`).join(', ') || 'none';
  const fed = graph.inputs.find((v) => v.name === input.name);
  if (!fed)
    return {
      code: 'input-name-mismatch',
      field: 'input.name',
      reason: `The graph has no input '${input.name}' (its inputs: ${names(graph.inputs)}).`,
    };
  if (graph.inputs.length > 1)
    return {
      code: 'input-name-mismatch',
      field: 'input.name',
      reason: `The graph has ${graph.inputs.length} inputs (${names(graph.inputs)}); the agent feeds only '${input.name}'.`,
    };
  if (fed.elemType !== undefined && fed.elemType !== FLOAT)
    return {
      code: 'input-type-mismatch',
      field: 'input.name',
      reason: `The input '${input.name}' is not a float32 tensor (ONNX type ${fed.elemType}); the agent feeds float32.`,
    };
  const shape = checkInputShape(fed.dims, manifest);
  if (shape) return shape;
  const out = graph.outputs.find((v) => v.name === output.name);
  if (!out)
    return {
      code: 'output-name-mismatch',
      field: 'output.name',
      reason: `The graph has no output '${output.name}' (its outputs: ${names(graph.outputs)}).`,
    };
  // The agent reads element `index` of each image's slice of the output (all dims after the batch one).
  const perImage = out.dims?.slice(1) ?? [null];
  if (perImage.every((d) => d !== null)) {
    const size = perImage.reduce((a, b) => a * b, 1);
    if (output.index >= size)
      return {
        code: 'output-index-out-of-range',
        field: 'output.index',
        reason: `output.index ${output.index} is out of range: '${output.name}' has ${size} value(s) per image.`,
      };
  }
  return undefined;
}

/** [N, C, H, W]: static dims must equal the manifest's; symbolic ones (and the batch dim) are free. */
function checkInputShape(
  dims: (number | null)[] | undefined,
  manifest: ModelManifest,
): ModelRefusal | undefined {
  if (dims === undefined) return undefined;
  const { name } = manifest.input;
  if (dims.length !== 4)
    return {
      code: 'input-shape-mismatch',
      field: 'input',
      reason: `The input '${name}' has rank ${dims.length}; the agent feeds [batch, channels, height, width].`,
    };
  const expected = [
    ['channels', manifest.input.channels],
    ['height', manifest.input.height],
    ['width', manifest.input.width],
  ] as const;
  for (const [i, [field, value]] of expected.entries()) {
    const dim = dims[i + 1];
    if (dim !== null && dim !== undefined && dim !== value)
      return {
        code: 'input-shape-mismatch',
        field: `input.${field}`,
        reason: `input.${field} is ${value} but the graph's input '${name}' has ${dim} there.`,
      };
  }
  return undefined;
}

function refuse(code: ModelRefusalCode, field: string, reason: string): ModelGraphCheck {
  return { ok: false, code, field, reason };
}
