import { and, eq } from 'drizzle-orm';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { checkModelSignature, ModelSignature } from '../../schemas/model-signature.ts';
import type { Principal } from '../api/env.ts';
import { invalidRequest } from '../api/validate.ts';
import { models, vendorKeys, vendors } from '../db/schema.ts';
import { type CloudDeps, limitsOf } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { admitManifest } from './admission.ts';

export const modelExists = () =>
  new ApiError(409, 'model-exists', 'This vendor already has a model with that name and version.');

/**
 * Every check a submission passes before anything is stored, for both upload routes: the vendor scope of the
 * token, the vendor, the manifest's own consistency (threshold), the manifest's sha256 against the bytes', the
 * vendor signature, and a free name and version (the graph check, admission.ts, is made on the bytes).
 * With `sha256` null (bytes not read yet) only what does not depend on them; call it again with the hash.
 * Returns the key id the signature verified against (null: unsigned, or not checked yet).
 */
export async function admitModel(
  deps: CloudDeps,
  p: Principal,
  manifest: ModelManifest,
  sha256: string | null,
  signature: ModelSignature | null,
): Promise<string | null> {
  if (p.role === 'vendor' && manifest.vendor !== p.vendorId)
    throw new ApiError(403, 'forbidden', "A vendor token can only submit its own vendor's models.");
  admitManifest(manifest);
  const vendor = await deps.db.query.vendors.findFirst({ where: eq(vendors.id, manifest.vendor) });
  if (!vendor) throw notFound('vendor');
  let signingKeyId: string | null = null;
  if (sha256 !== null) {
    if (manifest.sha256 !== undefined && manifest.sha256 !== sha256)
      throw new ApiError(400, 'sha256-mismatch', 'manifest.sha256 does not match the uploaded ONNX bytes.');
    signingKeyId = await checkSubmissionSignature(deps, manifest, sha256, signature);
  }
  const identity = and(
    eq(models.vendorId, manifest.vendor),
    eq(models.name, manifest.name),
    eq(models.version, manifest.version),
  );
  if (await deps.db.query.models.findFirst({ where: identity, columns: { id: true } })) throw modelExists();
  return signingKeyId;
}

/**
 * Signatures are mandatory for a vendor once it has registered a key (revoked or not): an unsigned or badly
 * signed submission is then refused, so a stolen vendor API token alone cannot push a model. A vendor without
 * a key may still submit unsigned models (onboarding, pilots); a campaign can insist on signed ones
 * (requireSignedModels). Returns the key id the signature verified against, or null for an unsigned one.
 */
async function checkSubmissionSignature(
  deps: CloudDeps,
  manifest: ModelManifest,
  sha256: string,
  signature: ModelSignature | null,
): Promise<string | null> {
  const keys = await deps.db.select().from(vendorKeys).where(eq(vendorKeys.vendorId, manifest.vendor));
  const active = keys.filter((k) => k.revokedAt === null);
  if (!signature) {
    // Revoked keys count too: otherwise a stolen vendor token could revoke the keys and submit unsigned.
    if (keys.length === 0) return null;
    throw new ApiError(
      400,
      'signature-required',
      'This vendor has a registered signing key: sign the model (cairn model sign) and send the signature.',
    );
  }
  const key = active.find((k) => k.keyId === signature.keyId);
  if (!key)
    throw new ApiError(
      400,
      'unknown-vendor-key',
      "The signature names a key that is not one of this vendor's current keys.",
    );
  const check = checkModelSignature(manifest, sha256, signature, key.publicKey);
  if (!check.ok)
    throw new ApiError(400, 'bad-model-signature', `The model signature does not verify (${check.reason}).`);
  return key.keyId;
}

/**
 * The per-vendor storage quota: the vendor's models (each at its blob's size) plus the one arriving must fit.
 * Checked before the model is registered; two of one vendor's uploads racing may both pass by one model.
 */
export async function checkVendorQuota(deps: CloudDeps, vendorId: string, incoming: number): Promise<void> {
  const quota = limitsOf(deps).vendorStorageBytes;
  const rows = await deps.db
    .select({ blobKey: models.blobKey })
    .from(models)
    .where(eq(models.vendorId, vendorId));
  let used = 0;
  for (const r of rows) used += (await deps.blobs.size(r.blobKey)) ?? 0;
  if (used + incoming > quota)
    throw new ApiError(
      413,
      'vendor-storage-quota-exceeded',
      `This vendor's models use ${used} bytes of its ${quota}-byte storage quota; this model (${incoming} bytes) does not fit.`,
    );
}

export function parseManifest(json: unknown): ModelManifest {
  const parsed = ModelManifest.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error, 'invalid-manifest');
  return parsed.data;
}

export function parseSignature(json: unknown): ModelSignature {
  const parsed = ModelSignature.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error, 'invalid-signature');
  return parsed.data;
}

export const parseManifestText = (text: string) =>
  parseManifest(jsonField(text, 'invalid-manifest', 'manifest'));
/** The optional "signature" part: the .sig JSON that `cairn model sign` writes, as a field or a file. */
export const parseSignatureText = (text: string) =>
  parseSignature(jsonField(text, 'invalid-signature', 'signature'));

function jsonField(text: string, code: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, code, `The ${field} field is not valid JSON.`);
  }
}
