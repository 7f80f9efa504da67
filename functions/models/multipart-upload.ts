import { randomBytes } from 'node:crypto';
import type { Principal } from '../api/env.ts';
import type { CloudDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { admitStoredOnnx, stageStream, storeModelBytes, uploadTooLarge } from './model-bytes.ts';
import { multipartBoundary, partText, readMultipart } from './multipart.ts';
import { registerModel } from './register-model.ts';
import { admitModel, checkVendorQuota, parseManifestText, parseSignatureText } from './submission-checks.ts';

/** The manifest and signature fields of a multipart upload are small JSON. */
const FIELD_BYTES = 1024 * 1024;

interface ReceivedParts {
  manifestText: string | undefined;
  signatureText: string | undefined;
  onnx: { sha256: string; size: number } | undefined;
}

/**
 * POST /v1/models: the multipart body read as a stream. The ONNX part goes straight to a staging blob while
 * its sha256 is computed; the graph check reads the staged blob back (bounded: admission.ts); an admitted
 * model is copied to models/<sha256>.onnx. The staging blob is deleted whatever happens. Nothing holds the
 * model in memory.
 */
export async function receiveMultipartModel(deps: CloudDeps, p: Principal, req: Request, limit: number) {
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
    const { manifestText, signatureText, onnx } = await readParts(deps, p, req.body, boundary, staged, limit);
    if (manifestText === undefined || onnx === undefined)
      throw new ApiError(400, 'invalid-request', 'Send a "manifest" field (JSON) and an "onnx" file.');
    const manifest = parseManifestText(manifestText);
    if (onnx.size === 0) throw new ApiError(400, 'invalid-request', 'The onnx file is empty.');
    const signature = signatureText === undefined ? null : parseSignatureText(signatureText);
    const signingKeyId = await admitModel(deps, p, manifest, onnx.sha256, signature);
    await checkVendorQuota(deps, manifest.vendor, onnx.size);
    await admitStoredOnnx(deps.blobs, staged, manifest);
    await storeModelBytes(deps.blobs, staged, onnx.sha256);
    return await registerModel(deps, p, { manifest, sha256: onnx.sha256, signature, signingKeyId });
  } finally {
    await deps.blobs.delete(staged).catch(() => {});
  }
}

/** Reads the fields and stages the first "onnx" part under `staged`; other parts are skipped. */
async function readParts(
  deps: CloudDeps,
  p: Principal,
  body: AsyncIterable<Uint8Array>,
  boundary: string,
  staged: string,
  limit: number,
): Promise<ReceivedParts> {
  const parts: ReceivedParts = { manifestText: undefined, signatureText: undefined, onnx: undefined };
  for await (const part of readMultipart(body, boundary)) {
    if (part.name === 'manifest') parts.manifestText = await partText(part, FIELD_BYTES);
    else if (part.name === 'signature') parts.signatureText = await partText(part, FIELD_BYTES);
    else if (part.name === 'onnx' && parts.onnx === undefined) {
      // A manifest sent first is checked first, so that a refusal costs no upload.
      if (parts.manifestText !== undefined)
        await admitModel(deps, p, parseManifestText(parts.manifestText), null, null);
      parts.onnx = await stageStream(deps.blobs, staged, part.body, limit);
    }
  }
  return parts;
}
