import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  exportRawPublicKey,
  importRawPublicKey,
  RAW_PUBLIC_KEY_BASE64,
  signEd25519,
  verifyEd25519,
} from '../crypto/ed25519.ts';
import { canonicalJson } from './canonical-json.ts';
import { Sha256Hex } from './common.ts';
import type { ModelManifest } from './model-manifest.ts';

/**
 * A vendor's signature over one model (`cairn.model-signature/v1`, the `.sig` file `cairn model sign` writes).
 *
 * What is signed is `modelSigningInput()`: the schema tag, the sha256 of the canonical JSON of the manifest
 * *as the cloud and the agent see it* (parsed, defaults filled in, `sha256` pinned to the ONNX bytes), and the
 * ONNX sha256 again. Signing the parsed form means the vendor's file layout, key order or omitted defaults
 * cannot make two honest parties disagree; pinning the sha256 inside and beside the manifest means neither
 * the preprocessing nor the weights can be swapped without breaking the signature.
 */
export const MODEL_SIGNATURE_SCHEMA = 'cairn.model-signature/v1';

/** Vendor key ids are derived from the key itself, so a vendor can name its key before registering it. */
export const VendorKeyId = z.string().regex(/^vk_[0-9a-f]{32}$/, 'vk_ and 32 hex digits');

/** Base64 of a 32-byte raw Ed25519 public key (the form sites and vendors register). */
export const Ed25519PublicKey = z.string().regex(RAW_PUBLIC_KEY_BASE64, 'base64 of a 32-byte Ed25519 key');

export const ModelSignature = z
  .object({
    schema: z.literal(MODEL_SIGNATURE_SCHEMA),
    algorithm: z.literal('ed25519'),
    keyId: VendorKeyId,
    /** sha256 of the canonical manifest that was signed: lets a person see which manifest a .sig belongs to. */
    manifestSha256: Sha256Hex,
    onnxSha256: Sha256Hex,
    signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'base64 of a 64-byte Ed25519 signature'),
  })
  .strict();
export type ModelSignature = z.infer<typeof ModelSignature>;

export function vendorKeyId(publicKeyRaw: string): string {
  return `vk_${createHash('sha256').update(Buffer.from(publicKeyRaw, 'base64')).digest('hex').slice(0, 32)}`;
}

/** The manifest as both sides hash it: sha256 pinned to the ONNX bytes. */
export function canonicalManifestSha256(manifest: ModelManifest, onnxSha256: string): string {
  return createHash('sha256')
    .update(canonicalJson({ ...manifest, sha256: onnxSha256 }), 'utf8')
    .digest('hex');
}

export function modelSigningInput(manifest: ModelManifest, onnxSha256: string): Uint8Array {
  return new TextEncoder().encode(
    [MODEL_SIGNATURE_SCHEMA, canonicalManifestSha256(manifest, onnxSha256), onnxSha256].join('\n'),
  );
}

/** The vendor's signature over a parsed manifest and the ONNX bytes' sha256 (what checkModelSignature checks). */
export function signModelManifest(
  manifest: ModelManifest,
  onnxSha256: string,
  privateKey: KeyObject,
): ModelSignature {
  return {
    schema: MODEL_SIGNATURE_SCHEMA,
    algorithm: 'ed25519',
    keyId: vendorKeyId(exportRawPublicKey(privateKey)),
    manifestSha256: canonicalManifestSha256(manifest, onnxSha256),
    onnxSha256,
    signature: signEd25519(modelSigningInput(manifest, onnxSha256), privateKey),
  };
}

export type ModelSignatureCheck =
  | { ok: true; keyId: string }
  | {
      ok: false;
      reason:
        | 'malformed-signature'
        | 'sha256-mismatch'
        | 'manifest-mismatch'
        | 'key-mismatch'
        | 'bad-signature';
    };

/**
 * Checks a model signature against a vendor public key. Pure (no I/O): the cloud runs it on submission and
 * the agent runs it again before it loads the bytes. `onnxSha256` must be the hash of the bytes in hand,
 * computed by the caller, never a value read from the job or the signature.
 */
export function checkModelSignature(
  manifest: ModelManifest,
  onnxSha256: string,
  signature: unknown,
  vendorPublicKey: string,
): ModelSignatureCheck {
  const sig = ModelSignature.safeParse(signature);
  if (!sig.success) return { ok: false, reason: 'malformed-signature' };
  if (sig.data.onnxSha256 !== onnxSha256 || (manifest.sha256 !== undefined && manifest.sha256 !== onnxSha256))
    return { ok: false, reason: 'sha256-mismatch' };
  if (sig.data.manifestSha256 !== canonicalManifestSha256(manifest, onnxSha256))
    return { ok: false, reason: 'manifest-mismatch' };
  const key = importRawPublicKey(vendorPublicKey);
  if (!key || vendorKeyId(vendorPublicKey) !== sig.data.keyId) return { ok: false, reason: 'key-mismatch' };
  const ok = verifyEd25519(modelSigningInput(manifest, onnxSha256), key, sig.data.signature);
  return ok ? { ok: true, keyId: sig.data.keyId } : { ok: false, reason: 'bad-signature' };
}
