import { createHash } from 'node:crypto';
import type { BlobStore } from '../../infra/blob-store.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { ApiError } from '../errors.ts';
import { admitOnnx } from './admission.ts';

/** Model bytes in the blob store: where they live, how they are staged, hashed, checked and streamed out. */

/** Content-addressed: the same bytes under two model versions are stored once. */
export const modelBlobKey = (sha256: string) => `models/${sha256}.onnx`;

export const uploadTooLarge = () =>
  new ApiError(413, 'body-too-large', 'The model upload is larger than this cloud accepts.');

export const modelTooLarge = (limit: number) =>
  new ApiError(413, 'model-too-large', `The model is larger than this cloud accepts (${limit} bytes).`);

/** Streams `body` to `key`, hashing and counting it; refused as soon as it passes `limit` bytes. */
export async function stageStream(
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

/** sha256 and length of a stored blob, read as a stream; refused as soon as it passes `limit` bytes. */
export async function hashBlob(
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
export async function admitStoredOnnx(blobs: BlobStore, key: string, manifest: ModelManifest): Promise<void> {
  const stream = await blobs.getStream(key);
  if (!stream) throw new Error('the staged upload vanished before it was checked');
  await admitOnnx(stream, manifest);
}

/** Copies checked bytes to their content address, unless the same bytes are already stored there. */
export async function storeModelBytes(blobs: BlobStore, from: string, sha256: string): Promise<void> {
  const blobKey = modelBlobKey(sha256);
  if (!(await blobs.exists(blobKey)) && !(await blobs.copy(from, blobKey)))
    throw new Error('the staged upload vanished before it was stored');
}

/** A web stream over `chunks` that calls `release` once it ends, fails or is cancelled (the client left). */
export function releasingStream(
  chunks: AsyncIterable<Uint8Array>,
  release: () => void,
): ReadableStream<Uint8Array> {
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
