import { createHash } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { Id } from '../../../schemas/common.ts';
import { ModelManifest } from '../../../schemas/model-manifest.ts';
import { checkModelSignature, ModelSignature } from '../../../schemas/model-signature.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { jobs, models, vendorKeys, vendors } from '../../db/schema.ts';
import { type CloudDeps, limitsOf } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { newId } from '../../secrets.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv, Principal } from '../env.ts';
import { seesModel } from '../scope.ts';
import { invalidRequest, validate } from '../validate.ts';

const ModelParam = z.object({ id: Id });

export function modelRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  const tooLarge = () => {
    throw new ApiError(413, 'body-too-large', 'The model upload is larger than this cloud accepts.');
  };
  return new Hono<AppEnv>()
    .post(
      '/models',
      guard('admin', 'vendor'),
      bodyLimit({ maxSize: limitsOf(deps).modelUploadBytes, onError: tooLarge }),
      async (c) => {
        const p = c.get('principal');
        const { manifest, onnx, signature } = await readUpload(c.req.raw);
        if (p.role === 'vendor' && manifest.vendor !== p.vendorId)
          throw new ApiError(403, 'forbidden', "A vendor token can only submit its own vendor's models.");
        const vendor = await deps.db.query.vendors.findFirst({ where: eq(vendors.id, manifest.vendor) });
        if (!vendor) throw notFound('vendor');
        const sha256 = createHash('sha256').update(onnx).digest('hex');
        if (manifest.sha256 !== undefined && manifest.sha256 !== sha256)
          throw new ApiError(
            400,
            'sha256-mismatch',
            'manifest.sha256 does not match the uploaded ONNX bytes.',
          );
        const signingKeyId = await checkSubmissionSignature(deps, manifest, sha256, signature);
        const identity = and(
          eq(models.vendorId, manifest.vendor),
          eq(models.name, manifest.name),
          eq(models.version, manifest.version),
        );
        if (await deps.db.query.models.findFirst({ where: identity, columns: { id: true } }))
          throw modelExists();
        // Content-addressed: the same bytes under two model versions are stored once.
        const blobKey = `models/${sha256}.onnx`;
        if (!(await deps.blobs.exists(blobKey))) await deps.blobs.put(blobKey, onnx);
        const pinned: ModelManifest = { ...manifest, sha256 };
        const modelId = newId('mdl');
        const {
          results: [[row]],
        } = await commitAudited(
          deps,
          () =>
            [
              deps.db
                .insert(models)
                .values({
                  id: modelId,
                  vendorId: manifest.vendor,
                  name: manifest.name,
                  version: manifest.version,
                  sha256,
                  manifest: pinned,
                  blobKey,
                  signature,
                  signingKeyId,
                  createdAt: deps.clock.now(),
                })
                .onConflictDoNothing()
                .returning(),
            ] as const,
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
            },
          },
        );
        if (!row) throw modelExists();
        return c.json({ modelId: row.id, sha256, manifest: pinned, signingKeyId }, 201);
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
        const bytes = await deps.blobs.get(row.blobKey);
        if (!bytes) throw notFound('model-artifact');
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
          'content-type': 'application/octet-stream',
          'x-cairn-sha256': row.sha256,
          etag: `"${row.sha256}"`,
        });
      },
    );
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

async function readUpload(
  req: Request,
): Promise<{ manifest: ModelManifest; onnx: Uint8Array; signature: ModelSignature | null }> {
  if (!req.headers.get('content-type')?.startsWith('multipart/form-data'))
    throw new ApiError(
      415,
      'unsupported-media-type',
      'Send the model as multipart/form-data with "manifest" and "onnx".',
    );
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new ApiError(400, 'invalid-request', 'The multipart body could not be read.');
  }
  const manifestField = form.get('manifest');
  const onnxField = form.get('onnx');
  if (manifestField === null || !(onnxField instanceof Blob))
    throw new ApiError(400, 'invalid-request', 'Send a "manifest" field (JSON) and an "onnx" file.');
  const manifestText = typeof manifestField === 'string' ? manifestField : await manifestField.text();
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(manifestText);
  } catch {
    throw new ApiError(400, 'invalid-manifest', 'The manifest field is not valid JSON.');
  }
  const parsed = ModelManifest.safeParse(manifestJson);
  if (!parsed.success) throw invalidRequest(parsed.error, 'invalid-manifest');
  const onnx = new Uint8Array(await onnxField.arrayBuffer());
  if (onnx.length === 0) throw new ApiError(400, 'invalid-request', 'The onnx file is empty.');
  return { manifest: parsed.data, onnx, signature: await readSignature(form.get('signature')) };
}

/** The optional "signature" part: the .sig JSON that `cairn model sign` writes, as a field or a file. */
async function readSignature(field: ReturnType<FormData['get']>): Promise<ModelSignature | null> {
  if (field === null) return null;
  const text = typeof field === 'string' ? field : await field.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid-signature', 'The signature field is not valid JSON.');
  }
  const parsed = ModelSignature.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error, 'invalid-signature');
  return parsed.data;
}

type ModelRow = typeof models.$inferSelect;

export async function visibleModels(deps: CloudDeps, p: Principal): Promise<ModelRow[]> {
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
