import { createHash } from 'node:crypto';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';

export const modelSha256 = (model: Uint8Array) => createHash('sha256').update(model).digest('hex');

/**
 * What the prediction cache is keyed by: an image's score depends on the ONNX bytes *and* on the manifest's
 * preprocessing and output (window, normalisation, resize, channels, input/output names, activation, index).
 * Two models with the same bytes but another window must not reuse each other's scores. Threshold and study
 * aggregation are applied after the cache (it keeps max and sum), so they are not part of the key.
 */
export const predictionCacheKey = (model: Uint8Array, manifest: Pick<ModelManifest, 'input' | 'output'>) =>
  createHash('sha256')
    .update(`${modelSha256(model)}\n${canonicalJson({ input: manifest.input, output: manifest.output })}`)
    .digest('hex');
