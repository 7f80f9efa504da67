import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { type DirectUploadStore, directUploadsOf } from '../../infra/blob-store.ts';
import type { Principal } from '../api/env.ts';
import { modelUploads } from '../db/schema.ts';
import type { CloudDeps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { admitStoredOnnx, hashBlob, modelTooLarge, storeModelBytes } from './model-bytes.ts';
import { type AdmittedModel, registerModel } from './register-model.ts';
import { admitModel, checkVendorQuota, parseManifest, parseSignature } from './submission-checks.ts';

/**
 * Direct uploads: the bytes go to the blob store through a presigned PUT, never through the API (whose body
 * limit on AWS Lambda is 6 MB). Only stores that clients can reach have them.
 */

/** A presigned upload URL is the only credential the bucket sees: short-lived, one key, one length. */
const UPLOAD_URL_TTL_S = 15 * 60;
/** How long after creation an upload may be completed (the PUT of 512 MiB may take a while). */
const UPLOAD_COMPLETE_WINDOW_MS = 60 * 60 * 1000;

function directUploadsOrRefuse(deps: CloudDeps): DirectUploadStore {
  const blobs = directUploadsOf(deps.blobs);
  if (!blobs)
    throw new ApiError(
      409,
      'direct-upload-unavailable',
      'This cloud keeps models itself: send the model to POST /v1/models as multipart/form-data.',
    );
  return blobs;
}

/** POST /v1/models/uploads: a presigned PUT URL for `size` bytes, and the upload it completes. */
export async function createDirectUpload(deps: CloudDeps, p: Principal, size: number, limit: number) {
  const blobs = directUploadsOrRefuse(deps);
  if (size > limit) throw modelTooLarge(limit);
  if (p.role === 'vendor' && p.vendorId) await checkVendorQuota(deps, p.vendorId, size);
  const id = `upl_${randomBytes(16).toString('hex')}`;
  const blobKey = `uploads/${id}.onnx`;
  const now = deps.clock.now();
  const url = await blobs.uploadUrl(blobKey, UPLOAD_URL_TTL_S, size);
  const expiresAt = new Date(now.getTime() + UPLOAD_COMPLETE_WINDOW_MS);
  await deps.db.insert(modelUploads).values({
    id,
    tokenId: p.tokenId,
    vendorId: p.role === 'vendor' ? p.vendorId : null,
    blobKey,
    size,
    createdAt: now,
    expiresAt,
  });
  return {
    uploadId: id,
    url,
    method: 'PUT',
    size,
    /** The URL must be used (the PUT started) before this. */
    urlExpiresAt: new Date(now.getTime() + UPLOAD_URL_TTL_S * 1000).toISOString(),
    /** The upload must be completed before this. */
    expiresAt: expiresAt.toISOString(),
  };
}

/** An upload the principal may complete; 404 for another vendor's (or another admin token's), as for models. */
async function findOwnUpload(deps: CloudDeps, p: Principal, id: string) {
  const row = await deps.db.query.modelUploads.findFirst({ where: eq(modelUploads.id, id) });
  const own =
    row !== undefined &&
    (row.vendorId === null ? p.tokenId === row.tokenId : p.role === 'vendor' && p.vendorId === row.vendorId);
  if (!row || !own) throw notFound('upload');
  return row;
}

type Upload = Awaited<ReturnType<typeof findOwnUpload>>;

/** POST /v1/models/uploads/:id/complete: the PUT bytes, checked as the multipart route checks its own. */
export async function completeDirectUpload(
  deps: CloudDeps,
  p: Principal,
  uploadId: string,
  body: { manifest: unknown; signature?: unknown },
  limit: number,
) {
  const upload = await findOwnUpload(deps, p, uploadId);
  const blobs = directUploadsOrRefuse(deps);
  if (upload.completedAt)
    throw new ApiError(409, 'upload-completed', 'This upload has already become a model.');
  if (upload.expiresAt <= deps.clock.now())
    throw new ApiError(410, 'upload-expired', 'This upload has expired: start a new one.');
  const manifest = parseManifest(body.manifest);
  const signature = body.signature == null ? null : parseSignature(body.signature);
  // The checks that need no bytes first, so that a refusal costs no 512 MiB read.
  await admitModel(deps, p, manifest, null, signature);
  // Seal: a copy under a key no URL can write, so that the bytes hashed are the bytes stored even if the
  // staged object is PUT again meanwhile (the URL stays valid for its TTL). One sealed key per request.
  const sealed = `uploads/${upload.id}.${randomBytes(8).toString('hex')}.sealed`;
  try {
    if (!(await blobs.copy(upload.blobKey, sealed)))
      throw new ApiError(
        409,
        'upload-missing',
        "Nothing has been uploaded to this upload's URL: PUT the ONNX bytes there first.",
      );
    const admitted = await admitSealed(deps, p, blobs, upload, sealed, { manifest, signature }, limit);
    const result = await registerModel(deps, p, admitted, upload.id);
    // The model is registered: a staged object that fails to go is only litter, which the bucket's
    // lifecycle rule (sst.config.ts) sweeps from uploads/.
    await blobs.delete(upload.blobKey).catch(() => {});
    return result;
  } finally {
    await blobs.delete(sealed).catch(() => {});
  }
}

/** Hashes and checks the sealed bytes and stores them under their content address. */
async function admitSealed(
  deps: CloudDeps,
  p: Principal,
  blobs: DirectUploadStore,
  upload: Upload,
  sealed: string,
  m: Pick<AdmittedModel, 'manifest' | 'signature'>,
  limit: number,
): Promise<AdmittedModel> {
  const { sha256, size } = await hashBlob(blobs, sealed, limit);
  if (size !== upload.size)
    throw new ApiError(
      400,
      'upload-size-mismatch',
      `The uploaded object has ${size} bytes, not the ${upload.size} declared.`,
    );
  const signingKeyId = await admitModel(deps, p, m.manifest, sha256, m.signature);
  await checkVendorQuota(deps, m.manifest.vendor, size);
  await admitStoredOnnx(blobs, sealed, m.manifest).catch(async (err) => {
    // A refused model is not kept: the staged object goes too (its URL may be PUT again meanwhile, but
    // nothing completes it: a new upload is needed).
    await blobs.delete(upload.blobKey).catch(() => {});
    throw err;
  });
  await storeModelBytes(blobs, sealed, sha256);
  return { ...m, sha256, signingKeyId };
}
