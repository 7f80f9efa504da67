/**
 * Model submission, shared by `cairn model submit`, the demo's scenario run and the tests that submit models
 * the way a vendor does.
 */
import { basename } from 'node:path';
import { type CloudApi, CloudRefusal } from '../../client/cloud-api.ts';
import { CliError } from '../errors.ts';
import { readOrFail } from '../input-file.ts';

/**
 * Submits a model. Where the cloud offers direct uploads (on AWS: the API's body limit is 6 MB), the bytes go
 * to the blob store through a presigned PUT and the API only sees the manifest; a cloud that keeps models
 * itself (the embedded one) or predates direct uploads takes the multipart body.
 */
export async function submitModel(
  client: CloudApi,
  manifestPath: string,
  onnxPath: string,
  signaturePath?: string,
): Promise<{ modelId: string; sha256: string; signingKeyId?: string | null }> {
  const manifestText = readOrFail(manifestPath, 'manifest').toString('utf8');
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    throw new CliError(`manifest: ${manifestPath} is not valid JSON`);
  }
  const onnx = readOrFail(onnxPath, 'onnx');
  const signatureText = signaturePath ? readOrFail(signaturePath, 'signature').toString('utf8') : undefined;
  const upload = await startDirectUpload(client, onnx.byteLength);
  if (upload) {
    let signature: unknown;
    if (signatureText !== undefined) {
      try {
        signature = JSON.parse(signatureText);
      } catch {
        throw new CliError(`signature: ${signaturePath} is not valid JSON`);
      }
    }
    await client.putPresigned(upload.url, onnx);
    return client.json('POST', `/v1/models/uploads/${encodeURIComponent(upload.uploadId)}/complete`, {
      json: { manifest, ...(signature !== undefined ? { signature } : {}) },
    });
  }
  const form = new FormData();
  form.set('manifest', manifestText);
  form.set('onnx', new Blob([onnx]), basename(onnxPath));
  if (signatureText !== undefined) form.set('signature', signatureText);
  return client.json('POST', '/v1/models', { form });
}

/** A presigned upload for `size` bytes, or null when the cloud takes models in the request body only. */
async function startDirectUpload(
  client: CloudApi,
  size: number,
): Promise<{ uploadId: string; url: string } | null> {
  try {
    return await client.json('POST', '/v1/models/uploads', { json: { size } });
  } catch (err) {
    const unavailable =
      err instanceof CloudRefusal &&
      (err.code === 'direct-upload-unavailable' || (err.status === 404 && err.code === 'route-not-found'));
    if (unavailable) return null;
    throw err;
  }
}
