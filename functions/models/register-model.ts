import { and, eq, isNull, sql } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { ModelSignature } from '../../schemas/model-signature.ts';
import type { Principal } from '../api/env.ts';
import { actorOf, commitAudited } from '../audit/append.ts';
import type { Database } from '../db/database.ts';
import { models, modelUploads } from '../db/schema.ts';
import type { CloudDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { newId } from '../secrets.ts';
import { modelBlobKey } from './model-bytes.ts';
import { modelExists } from './submission-checks.ts';

export interface AdmittedModel {
  manifest: ModelManifest;
  sha256: string;
  signature: ModelSignature | null;
  signingKeyId: string | null;
}

type ModelInsert = typeof models.$inferInsert;

/**
 * Registers an admitted model whose bytes are stored under models/<sha256>.onnx, with its audit entry, in one
 * transaction; a direct upload is marked completed in the same one. A racing submission of the same name and
 * version leaves nothing (409 model-exists).
 */
export async function registerModel(deps: CloudDeps, p: Principal, m: AdmittedModel, uploadId?: string) {
  const { manifest, sha256, signingKeyId } = m;
  const pinned: ModelManifest = { ...manifest, sha256 };
  const modelId = newId('mdl');
  const inserted = sql`exists (select 1 from ${models} where ${models.id} = ${modelId})`;
  const row: ModelInsert = {
    id: modelId,
    vendorId: manifest.vendor,
    name: manifest.name,
    version: manifest.version,
    sha256,
    manifest: pinned,
    blobKey: modelBlobKey(sha256),
    signature: m.signature,
    signingKeyId,
    createdAt: deps.clock.now(),
  };
  const change = () =>
    uploadId === undefined
      ? ([deps.db.insert(models).values(row).onConflictDoNothing().returning()] as const)
      : completingUpload(deps.db, row, uploadId, inserted);
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

/**
 * A direct upload becomes at most one model: claim it first, only while no model has this identity (so the
 * insert cannot meet a conflict and leave the claim behind), and insert only if the claim took (`changes()`
 * of the claim, read by the insert's select).
 */
function completingUpload(
  db: Database,
  row: ModelInsert,
  uploadId: string,
  inserted: ReturnType<typeof sql>,
) {
  const value = (column: AnySQLiteColumn, v: unknown) => sql`${sql.param(v, column)}`.as(column.name);
  const claimed = db
    .select({
      id: value(models.id, row.id),
      vendorId: value(models.vendorId, row.vendorId),
      name: value(models.name, row.name),
      version: value(models.version, row.version),
      sha256: value(models.sha256, row.sha256),
      manifest: value(models.manifest, row.manifest),
      blobKey: value(models.blobKey, row.blobKey),
      signature: value(models.signature, row.signature ?? null),
      signingKeyId: value(models.signingKeyId, row.signingKeyId ?? null),
      createdAt: value(models.createdAt, row.createdAt),
    })
    .from(modelUploads)
    .where(and(eq(modelUploads.id, uploadId), sql`changes() = 1`));
  return [
    db
      .update(modelUploads)
      .set({ completedAt: row.createdAt })
      .where(
        and(
          eq(modelUploads.id, uploadId),
          isNull(modelUploads.completedAt),
          sql`not exists (select 1 from ${models} where ${models.vendorId} = ${row.vendorId}
            and ${models.name} = ${row.name} and ${models.version} = ${row.version})`,
        ),
      ),
    db.insert(models).select(claimed),
    db
      .update(modelUploads)
      .set({ modelId: row.id })
      .where(and(eq(modelUploads.id, uploadId), inserted)),
  ] as const;
}
