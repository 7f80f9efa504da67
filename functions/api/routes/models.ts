import { Hono } from 'hono';
import { z } from 'zod';
import { Id } from '../../../schemas/common.ts';
import type { CloudDeps } from '../../deps.ts';
import { limitsOf } from '../../deps.ts';
import { notFound } from '../../errors.ts';
import { completeDirectUpload, createDirectUpload } from '../../models/direct-upload.ts';
import { releasingStream } from '../../models/model-bytes.ts';
import { receiveMultipartModel } from '../../models/multipart-upload.ts';
import { TransferSlots } from '../../models/transfer-slots.ts';
import { findVisibleModel, modelView, visibleModels } from '../../models/visible-models.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { validate } from '../validate.ts';

const ModelParam = z.object({ id: Id });
const UploadParam = z.object({ id: z.string().regex(/^upl_[0-9a-f]{32}$/, 'an upload id') });
const CreateUpload = z.object({ size: z.number().int().positive() }).strict();
/** Manifest and signature are parsed as the multipart route parses its fields, with the same codes. */
const CompleteUpload = z
  .object({ manifest: z.unknown(), signature: z.unknown().optional() })
  .strict()
  .refine((b) => b.manifest !== undefined, { message: 'the manifest is required', path: ['manifest'] });

/** How long a presigned download URL lives: enough to start the download, too short to be passed around. */
const DOWNLOAD_URL_TTL_S = 300;

export function modelRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  const limit = limitsOf(deps).modelUploadBytes;
  const uploads = new TransferSlots(limitsOf(deps).concurrentModelUploads, 'uploads');
  const downloads = new TransferSlots(limitsOf(deps).concurrentModelDownloads, 'downloads');
  /** Runs one upload in a slot (503 transfers-busy when all are taken). */
  const inUploadSlot = async <T>(upload: () => Promise<T>): Promise<T> => {
    const release = uploads.take();
    try {
      return await upload();
    } finally {
      release();
    }
  };
  const readers = guard('admin', 'coordinator', 'vendor', 'site');
  return new Hono<AppEnv>()
    .post('/models', guard('admin', 'vendor'), async (c) =>
      c.json(
        await inUploadSlot(() => receiveMultipartModel(deps, c.get('principal'), c.req.raw, limit)),
        201,
      ),
    )
    .post('/models/uploads', guard('admin', 'vendor'), validate('json', CreateUpload), async (c) =>
      c.json(await createDirectUpload(deps, c.get('principal'), c.req.valid('json').size, limit), 201),
    )
    .post(
      '/models/uploads/:id/complete',
      guard('admin', 'vendor'),
      validate('param', UploadParam),
      validate('json', CompleteUpload),
      async (c) => {
        const complete = () =>
          completeDirectUpload(deps, c.get('principal'), c.req.valid('param').id, c.req.valid('json'), limit);
        return c.json(await inUploadSlot(complete), 201);
      },
    )
    .get('/models', readers, async (c) => {
      const rows = await visibleModels(deps, c.get('principal'));
      return c.json({ models: rows.map(modelView) });
    })
    .get('/models/:id', readers, validate('param', ModelParam), async (c) => {
      const row = await findVisibleModel(deps, c.get('principal'), c.req.valid('param').id);
      return c.json(modelView(row));
    })
    .get('/models/:id/onnx', readers, validate('param', ModelParam), async (c) => {
      const row = await findVisibleModel(deps, c.get('principal'), c.req.valid('param').id);
      if (deps.blobs.downloadUrl) {
        // The bucket serves the bytes (no 512 MiB body through the API); the URL is the only credential the
        // bucket sees. The agent checks the pinned sha256 on whatever it gets.
        if (!(await deps.blobs.exists(row.blobKey))) throw notFound('model-artifact');
        const url = await deps.blobs.downloadUrl(row.blobKey, DOWNLOAD_URL_TTL_S);
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
    });
}
