import type { ModelManifest } from '../schemas/model-manifest.ts';
import { checkModelSignature, type ModelSignatureCheck } from '../schemas/model-signature.ts';

/**
 * The agent's last check before it loads a model: the vendor's signature over the manifest it will apply and
 * the sha256 of the ONNX bytes it holds, against the vendor key the cloud registered. Pure, so the run loop
 * decides what a failure means (today: the job is refused and the bytes never reach ONNX Runtime).
 *
 * `onnxSha256` must be computed from the downloaded bytes by the caller; `signature` and `vendorPublicKey`
 * come from the Job (`job.model.signature`, `job.model.vendorKey.publicKey`).
 */
export function verifyModelSignature(
  manifest: ModelManifest,
  onnxSha256: string,
  signature: unknown,
  vendorPublicKey: string,
): ModelSignatureCheck {
  return checkModelSignature(manifest, onnxSha256, signature, vendorPublicKey);
}

export type { ModelSignatureCheck };
