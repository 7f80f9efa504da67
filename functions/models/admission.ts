import { checkModelGraph, checkThreshold, type ModelRefusal } from '../../schemas/model-graph-check.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { OnnxGraph } from '../../schemas/onnx-graph.ts';
import { ApiError } from '../errors.ts';

/**
 * Model admission: a submitted ONNX must be a model the agents can run with its manifest — the graph check of
 * schemas/model-graph-check.ts (shared with the agent, which repeats it before loading), refused as
 * 422 `{ error: { code, message, field } }`. The bytes are read as a stream (the stored blob, for uploads of
 * any size); only the graph without its weights is held.
 */

function modelRefused(r: ModelRefusal): ApiError {
  return new ApiError(422, r.code, r.reason, r.field);
}

/** The part of admission that needs no bytes (the manifest's own consistency), so it can run first. */
export function admitManifest(manifest: ModelManifest): void {
  const refusal = checkThreshold(manifest);
  if (refusal) throw modelRefused(refusal);
}

/** Reads the graph from `chunks` and checks it against the manifest; throws the 422 refusal. */
export async function admitOnnx(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  manifest: ModelManifest,
): Promise<OnnxGraph> {
  const check = await checkModelGraph(chunks, manifest);
  if (!check.ok) throw modelRefused(check);
  return check.graph;
}
