import { createHash, randomBytes } from 'node:crypto';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { type BlobStore, type DirectUploadStore, directUploadsOf } from '../../../infra/blob-store.ts';
import { Id } from '../../../schemas/common.ts';
import { ModelManifest } from '../../../schemas/model-manifest.ts';
import { checkModelSignature, ModelSignature } from '../../../schemas/model-signature.ts';
import { byModelVersion } from '../../../schemas/semver-order.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { jobs, models, modelUploads, vendorKeys, vendors } from '../../db/schema.ts';
import { type CloudDeps, limitsOf } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { admitManifest, admitOnnx } from '../../models/admission.ts';
import { multipartBoundary, partText, readMultipart } from '../../models/multipart.ts';
import { TransferSlots } from '../../models/transfer-slots.ts';
import { newId } from '../../secrets.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv, Principal } from '../env.ts';
import { seesModel } from '../scope.ts';
import { invalidRequest, validate } from '../validate.ts';

const ModelParam = z.object({ id: Id });

/** A presigned upload URL is the only credential the bucket sees: short-lived, one key, one length. */
const UPLOAD_URL_TTL_S = 15 * 60;
/** How long after creation an upload may be completed (the PUT of 512 MiB may take a while). */
const UPLOAD_COMPLETE_WINDOW_MS = 60 * 60 * 1000;

const UploadParam = z.object({ id: z.string().regex(/^upl_[0-9a-f]{32}$/, 'an upload id') });
const CreateUpload = z.object({ size: z.number().int().positive() }).strict();
/** Manifest and signature are parsed as the multipart route parses its fields, with the same codes. */
const CompleteUpload = z
  .object({ manifest: z.unknown(), signature: z.unknown().optional() })
  .strict()
  .refine((b) => b.manifest !== undefined, { message: 'the manifest is required', path: ['manifest'] });

export function modelRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  const limit = limitsOf(deps).modelUploadBytes;
  const uploads = new TransferSlots(limitsOf(deps).concurrentModelUploads, 'uploads');
  const downloads = new TransferSlots(limitsOf(deps).concurrentModelDownloads, 'downloads');
  return new Hono<AppEnv>()
    .post('/models', guard('admin', 'vendor'), async (c) => {
      const release = uploads.take();
      try {
        return c.json(await receiveModel(deps, c.get('principal'), c.req.raw, limit), 201);
      } finally {
        release();
      }
    })
    .post('/models/uploads', guard('admin', 'vendor'), validate('json', CreateUpload), async (c) => {
      // Direct uploads: the bytes go to the blob store through a presigned PUT, never through the API (whose
      // body limit on AWS Lambda is 6 MB). Only stores that clients can reach have them.
      const blobs = directUploadsOrRefuse(deps);
      const p = c.get('principal');
      const { size } = c.req.valid('json');
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
      return c.json(
        {
          uploadId: id,
          url,
          method: 'PUT',
          size,
          /** The URL must be used (the PUT started) before this. */
          urlExpiresAt: new Date(now.getTime() + UPLOAD_URL_TTL_S * 1000).toISOString(),
          /** The upload must be completed before this. */
          expiresAt: expiresAt.toISOString(),
        },
        201,
      );
    })
    .post(
      '/models/uploads/:id/complete',
      guard('admin', 'vendor'),
      validate('param', UploadParam),
      validate('json', CompleteUpload),
      async (c) => {
        const release = uploads.take();
        try {
          const p = c.get('principal');
          const upload = await findOwnUpload(deps, p, c.req.valid('param').id);
          const blobs = directUploadsOrRefuse(deps);
          if (upload.completedAt)
            throw new ApiError(409, 'upload-completed', 'This upload has already become a model.');
          if (upload.expiresAt <= deps.clock.now())
            throw new ApiError(410, 'upload-expired', 'This upload has expired: start a new one.');
          const body = c.req.valid('json');
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
            const { sha256, size } = await hashBlob(blobs, sealed, limit);
            if (size !== upload.size)
              throw new ApiError(
                400,
                'upload-size-mismatch',
                `The uploaded object has ${size} bytes, not the ${upload.size} declared.`,
              );
            const signingKeyId = await admitModel(deps, p, manifest, sha256, signature);
            await checkVendorQuota(deps, manifest.vendor, size);
            await admitStoredOnnx(blobs, sealed, manifest).catch(async (err) => {
              // A refused model is not kept: the staged object goes too (its URL may be PUT again meanwhile,
              // but nothing completes it: a new upload is needed).
              await blobs.delete(upload.blobKey).catch(() => {});
              throw err;
            });
            const blobKey = modelBlobKey(sha256);
            if (!(await blobs.exists(blobKey)) && !(await blobs.copy(sealed, blobKey)))
              throw new Error('the sealed upload vanished before it was stored');
            const result = await registerModel(
              deps,
              p,
              { manifest, sha256, signature, signingKeyId },
              upload.id,
            );
            // The model is registered: a staged object that fails to go is only litter, which the bucket's
            // lifecycle rule (sst.config.ts) sweeps from uploads/.
            await blobs.delete(upload.blobKey).catch(() => {});
            return c.json(result, 201);
          } finally {
            await blobs.delete(sealed).catch(() => {});
          }
        } finally {
          release();
        }
      },
    )
    .get('/models', guard('admin', 'coordinator', 'vendor', 'site'), async (c) => {
      const rows = await visibleModels(deps, c.get('principal'));
      return c.json({ models: rows.map(modelView) });
    })
    .get(
      '/models/:id',
      guard('admin', 'coordinator', 'vendor', 'site'),
      validate('param', ModelParam),
      async (c) => {
        const row = await findVisibleModel(deps, c.get('principal'), c.req.valid('param').id);
        return c.json(modelView(row));
      },
    )
    .get(
      '/models/:id/onnx',
      guard('admin', 'coordinator', 'vendor', 'site'),
      validate('param', ModelParam),
      async (c) => {
        const row = await findVisibleModel(deps, c.get('principal'), c.req.valid('param').id);
        if (deps.blobs.downloadUrl) {
          // The bucket serves the bytes (no 512 MiB body through the API). The URL is the only credential the
          // bucket sees, so it lives 5 minutes: enough to start the download, too short to be passed around.
          // The agent checks the pinned sha256 on whatever it gets.
          if (!(await deps.blobs.exists(row.blobKey))) throw notFound('model-artifact');
          const url = await deps.blobs.downloadUrl(row.blobKey, 300);
          return c.body(null, 302, {
            location: url,
            'x-cairn-sha256': row.sha256,
            'cache-control': 'no-store',
          });
        }
        // Streamed from the store (never held whole); the slot is held until the body is sent or dropped.
        const release = downloads.take();
        try {
          const size = await deps.blobs.size(row.blobKey);
          const chunks = size === null ? null : await deps.blobs.getStream(row.blobKey);
          if (size === null || !chunks) throw notFound('model-artifact');
          return c.body(releasingStream(chunks, release), 200, {
            'content-type': 'application/octet-stream',
            'content-length': String(size),
            'x-cairn-sha256': row.sha256,
            etag: `"${row.sha256}"`,
          });
        } catch (err) {
          release();
          throw err;
        }
      },
    );
}

const modelBlobKey = (sha256: string) => `models/${sha256}.onnx`;

/** The manifest and signature fields of a multipart upload are small JSON. */
const FIELD_BYTES = 1024 * 1024;

/**
 * POST /v1/models: the multipart body read as a stream. The ONNX part goes straight to a staging blob while
 * its sha256 is computed; the graph check reads the staged blob back (bounded: admission.ts); an admitted
 * model is copied to models/<sha256>.onnx. The staging blob is deleted whatever happens. Nothing holds the
 * model in memory.
 */
async function receiveModel(deps: CloudDeps, p: Principal, req: Request, limit: number) {
  const boundary = multipartBoundary(req.headers.get('content-type'));
  if (!boundary)
    throw new ApiError(
      415,
      'unsupported-media-type',
      'Send the model as multipart/form-data with "manifest" and "onnx".',
    );
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (declared > limit + 2 * FIELD_BYTES || !req.body) throw uploadTooLarge();
  const staged = `uploads/${randomBytes(16).toString('hex')}.multipart`;
  try {
    let manifestText: string | undefined;
    let signatureText: string | undefined;
    let onnx: { sha256: string; size: number } | undefined;
    for await (const part of readMultipart(req.body, boundary)) {
      if (part.name === 'manifest') manifestText = await partText(part, FIELD_BYTES);
      else if (part.name === 'signature') signatureText = await partText(part, FIELD_BYTES);
      else if (part.name === 'onnx' && onnx === undefined) {
        // A manifest sent first is checked first, so that a refusal costs no upload.
        if (manifestText !== undefined)
          await admitModel(deps, p, parseManifestText(manifestText), null, null);
        onnx = await stageStream(deps.blobs, staged, part.body, limit);
      }
    }
    if (manifestText === undefined || onnx === undefined)
      throw new ApiError(400, 'invalid-request', 'Send a "manifest" field (JSON) and an "onnx" file.');
    const manifest = parseManifestText(manifestText);
    if (onnx.size === 0) throw new ApiError(400, 'invalid-request', 'The onnx file is empty.');
    const signature = signatureText === undefined ? null : parseSignatureText(signatureText);
    const signingKeyId = await admitModel(deps, p, manifest, onnx.sha256, signature);
    await checkVendorQuota(deps, manifest.vendor, onnx.size);
    const stream = await deps.blobs.getStream(staged);
    if (!stream) throw new Error('the staged upload vanished before it was checked');
    await admitOnnx(stream, manifest);
    // Content-addressed: the same bytes under two model versions are stored once.
    const blobKey = modelBlobKey(onnx.sha256);
    if (!(await deps.blobs.exists(blobKey)) && !(await deps.blobs.copy(staged, blobKey)))
      throw new Error('the staged upload vanished before it was stored');
    return await registerModel(deps, p, { manifest, sha256: onnx.sha256, signature, signingKeyId });
  } finally {
    await deps.blobs.delete(staged).catch(() => {});
  }
}

const uploadTooLarge = () =>
  new ApiError(413, 'body-too-large', 'The model upload is larger than this cloud accepts.');

/** Streams `body` to `key`, hashing and counting it; refused as soon as it passes `limit` bytes. */
async function stageStream(
  blobs: BlobStore,
  key: string,
  body: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  async function* hashed() {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > limit) throw uploadTooLarge();
      hash.update(chunk);
      yield chunk;
    }
  }
  await blobs.putStream(key, hashed());
  return { sha256: hash.digest('hex'), size };
}

/**
 * The per-vendor storage quota: the vendor's models (each at its blob's size) plus the one arriving must fit.
 * Checked before the model is registered; two of one vendor's uploads racing may both pass by one model.
 */
async function checkVendorQuota(deps: CloudDeps, vendorId: string, incoming: number): Promise<void> {
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

/** A web stream over `chunks` that calls `release` once it ends, fails or is cancelled (the client left). */
function releasingStream(chunks: AsyncIterable<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await it.next();
        if (next.done) {
          release();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    async cancel() {
      release();
      await it.return?.();
    },
  });
}

const modelTooLarge = (limit: number) =>
  new ApiError(413, 'model-too-large', `The model is larger than this cloud accepts (${limit} bytes).`);

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

/** An upload the principal may complete; 404 for another vendor's (or another admin token's), as for models. */
async function findOwnUpload(deps: CloudDeps, p: Principal, id: string) {
  const row = await deps.db.query.modelUploads.findFirst({ where: eq(modelUploads.id, id) });
  const own =
    row !== undefined &&
    (row.vendorId === null ? p.tokenId === row.tokenId : p.role === 'vendor' && p.vendorId === row.vendorId);
  if (!row || !own) throw notFound('upload');
  return row;
}

/** sha256 and length of a stored blob, read as a stream; refused as soon as it passes `limit` bytes. */
async function hashBlob(
  blobs: BlobStore,
  key: string,
  limit: number,
): Promise<{ sha256: string; size: number }> {
  const stream = await blobs.getStream(key);
  if (!stream) throw new Error('the sealed upload vanished before it was hashed');
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) throw modelTooLarge(limit); // leaving the loop closes the stream
    hash.update(chunk);
  }
  return { sha256: hash.digest('hex'), size };
}

/** The graph check of a stored blob, read as a stream (only the graph without its weights is held). */
async function admitStoredOnnx(blobs: BlobStore, key: string, manifest: ModelManifest) {
  const stream = await blobs.getStream(key);
  if (!stream) throw new Error('the sealed upload vanished before it was checked');
  await admitOnnx(stream, manifest);
}

/**
 * Every check a submission passes before anything is stored, for both routes: the vendor scope of the token,
 * the vendor, the manifest's own consistency (threshold), the manifest's sha256 against the bytes', the vendor
 * signature, and a free name and version (the graph check, admission.ts, is made by each route on its bytes).
 * With `sha256` null (bytes not read yet) only what does not depend on them; call it again with the hash.
 * Returns the key id the signature verified against (null: unsigned, or not checked yet).
 */
async function admitModel(
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
 * Registers an admitted model whose bytes are stored under models/<sha256>.onnx, with its audit entry, in one
 * transaction; a direct upload is marked completed in the same one. A racing submission of the same name and
 * version leaves nothing (409 model-exists).
 */
async function registerModel(
  deps: CloudDeps,
  p: Principal,
  m: {
    manifest: ModelManifest;
    sha256: string;
    signature: ModelSignature | null;
    signingKeyId: string | null;
  },
  uploadId?: string,
) {
  const { manifest, sha256, signature, signingKeyId } = m;
  const pinned: ModelManifest = { ...manifest, sha256 };
  const modelId = newId('mdl');
  const inserted = sql`exists (select 1 from ${models} where ${models.id} = ${modelId})`;
  const now = deps.clock.now();
  const row = {
    id: modelId,
    vendorId: manifest.vendor,
    name: manifest.name,
    version: manifest.version,
    sha256,
    manifest: pinned,
    blobKey: modelBlobKey(sha256),
    signature,
    signingKeyId,
    createdAt: now,
  };
  const change = () => {
    if (uploadId === undefined)
      return [deps.db.insert(models).values(row).onConflictDoNothing().returning()] as const;
    // A direct upload becomes at most one model: claim it first, only while no model has this identity (so
    // the insert below cannot meet a conflict and leave the claim behind), and insert only if the claim took.
    return [
      deps.db
        .update(modelUploads)
        .set({ completedAt: now })
        .where(
          and(
            eq(modelUploads.id, uploadId),
            isNull(modelUploads.completedAt),
            sql`not exists (select 1 from ${models} where ${models.vendorId} = ${row.vendorId}
              and ${models.name} = ${row.name} and ${models.version} = ${row.version})`,
          ),
        ),
      deps.db.run(sql`insert into ${models} (id, vendor_id, name, version, sha256, manifest, blob_key, signature,
          signing_key_id, created_at)
        select ${row.id}, ${row.vendorId}, ${row.name}, ${row.version}, ${row.sha256}, ${JSON.stringify(pinned)},
          ${row.blobKey}, ${signature === null ? null : JSON.stringify(signature)}, ${signingKeyId}, ${now.getTime()}
        where changes() = 1`),
      deps.db
        .update(modelUploads)
        .set({ modelId })
        .where(and(eq(modelUploads.id, uploadId), inserted)),
    ] as const;
  };
  const { audited } = await commitAudited(
    deps,
    change,
    {
      actor: actorOf(p),
      action: 'model.submitted',
      target: modelId,
      detail: {
        vendorId: manifest.vendor,
        name: manifest.name,
        version: manifest.version,
        sha256,
        signingKeyId,
        ...(uploadId === undefined ? {} : { uploadId }),
      },
    },
    { when: inserted },
  );
  if (!audited) {
    const upload =
      uploadId === undefined
        ? undefined
        : await deps.db.query.modelUploads.findFirst({ where: eq(modelUploads.id, uploadId) });
    if (upload?.completedAt)
      throw new ApiError(409, 'upload-completed', 'This upload has already become a model.');
    throw modelExists();
  }
  return { modelId, sha256, manifest: pinned, signingKeyId };
}

const modelExists = () =>
  new ApiError(409, 'model-exists', 'This vendor already has a model with that name and version.');

/**
 * Signatures are mandatory for a vendor once it has registered a key (revoked or not): an unsigned or badly
 * signed submission is then refused, so a stolen vendor API token alone cannot push a model. A vendor without a key may still
 * submit unsigned models (onboarding, pilots); a campaign can insist on signed ones (requireSignedModels).
 * Returns the key id the signature verified against, or null for an unsigned submission.
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

function parseManifest(json: unknown): ModelManifest {
  const parsed = ModelManifest.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error, 'invalid-manifest');
  return parsed.data;
}

const parseManifestText = (text: string) => parseManifest(jsonField(text, 'invalid-manifest', 'manifest'));
/** The optional "signature" part: the .sig JSON that `cairn model sign` writes, as a field or a file. */
const parseSignatureText = (text: string) =>
  parseSignature(jsonField(text, 'invalid-signature', 'signature'));

function jsonField(text: string, code: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, code, `The ${field} field is not valid JSON.`);
  }
}

function parseSignature(json: unknown): ModelSignature {
  const parsed = ModelSignature.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error, 'invalid-signature');
  return parsed.data;
}

type ModelRow = typeof models.$inferSelect;

/** Versions by semver precedence (SQL would sort 1.10.0 before 1.9.0). */
const byVersion = byModelVersion((m: ModelRow) => ({ vendor: m.vendorId, name: m.name, version: m.version }));

export async function visibleModels(deps: CloudDeps, p: Principal): Promise<ModelRow[]> {
  return (await queryVisibleModels(deps, p)).sort(byVersion);
}

async function queryVisibleModels(deps: CloudDeps, p: Principal): Promise<ModelRow[]> {
  if (p.role === 'admin' || p.role === 'coordinator')
    return deps.db.select().from(models).orderBy(models.vendorId, models.name, models.version);
  if (p.role === 'vendor')
    return deps.db
      .select()
      .from(models)
      .where(eq(models.vendorId, p.vendorId ?? ''))
      .orderBy(models.name, models.version);
  const ids = deps.db
    .selectDistinct({ id: jobs.modelId })
    .from(jobs)
    .where(eq(jobs.siteId, p.siteId ?? ''));
  return deps.db.select().from(models).where(inArray(models.id, ids)).orderBy(models.name, models.version);
}

async function findVisibleModel(deps: CloudDeps, p: Principal, id: string): Promise<ModelRow> {
  const row = await deps.db.query.models.findFirst({ where: eq(models.id, id) });
  if (!row || !(await seesModel(deps.db, p, row))) throw notFound('model');
  return row;
}

function modelView(m: ModelRow) {
  return {
    modelId: m.id,
    vendor: m.vendorId,
    name: m.name,
    version: m.version,
    sha256: m.sha256,
    manifest: m.manifest as ModelManifest,
    signingKeyId: m.signingKeyId,
    createdAt: m.createdAt.toISOString(),
  };
}
