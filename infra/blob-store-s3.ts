import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertBlobKey, type BlobStore } from './blob-store.ts';

/** Multipart part size for streamed puts: S3's minimum is 5 MiB (but for the last part). */
const PART_BYTES = 8 * 1024 * 1024;

/** The longest a SigV4 presigned URL may live (seven days). */
const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

/**
 * An S3 client configured the way this project needs it. Checksums only when an operation requires one: with
 * the SDK's default, presigned URLs carry the checksum of an empty body, which real S3 rejects (local servers
 * accept it, so tests alone would not notice). `forcePathStyle` is for local servers without wildcard DNS.
 */
export function createS3Client(
  opts: Omit<S3ClientConfig, 'requestChecksumCalculation' | 'responseChecksumValidation'> = {},
): S3Client {
  return new S3Client({
    ...opts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Model artifacts in an S3 bucket, under an optional key prefix (so one bucket can serve several stages).
 * Clients download through presigned GET URLs instead of through the API, and vendors upload models through
 * presigned PUT URLs (direct uploads).
 */
export function createS3BlobStore(opts: { client: S3Client; bucket: string; prefix?: string }): BlobStore {
  const { client, bucket } = opts;
  const prefix = opts.prefix ?? '';
  if (prefix !== '') {
    if (!prefix.endsWith('/')) throw new TypeError('the S3 key prefix must end with "/"');
    assertBlobKey(prefix.slice(0, -1));
  }
  const keyOf = (key: string) => {
    assertBlobKey(key);
    return prefix + key;
  };
  return {
    async put(key, bytes) {
      // A single PUT replaces the object atomically: readers see the old bytes or the new, never a mix.
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: keyOf(key),
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: 'application/octet-stream',
        }),
      );
    },
    async putStream(key, chunks) {
      // A multipart upload of PART_BYTES parts: one part is buffered at a time; the object appears (whole) at
      // CompleteMultipartUpload, and an upload that fails is aborted so no parts are left behind.
      const Key = keyOf(key);
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: 'application/octet-stream' }),
      );
      const parts: { ETag: string; PartNumber: number }[] = [];
      let size = 0;
      try {
        const send = async (body: Uint8Array) => {
          const PartNumber = parts.length + 1;
          const res = await client.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key,
              UploadId,
              PartNumber,
              Body: body,
              ContentLength: body.byteLength,
            }),
          );
          parts.push({ ETag: res.ETag ?? '', PartNumber });
        };
        let pending: Uint8Array[] = [];
        let pendingBytes = 0;
        for await (const chunk of chunks) {
          size += chunk.byteLength;
          pending.push(chunk);
          pendingBytes += chunk.byteLength;
          if (pendingBytes >= PART_BYTES) {
            await send(Buffer.concat(pending));
            pending = [];
            pendingBytes = 0;
          }
        }
        // The last part may be short (or the only, empty one).
        if (pendingBytes > 0 || parts.length === 0) await send(Buffer.concat(pending));
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key,
            UploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
        return size;
      } catch (err) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch(() => {});
        throw err;
      }
    },
    async size(key) {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        return res.ContentLength ?? 0;
      } catch (err) {
        if (isMissingKey(err)) return null;
        throw err;
      }
    },
    async get(key) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        if (!res.Body) throw new Error(`S3 returned no body for ${bucket}/${keyOf(key)}`);
        return await res.Body.transformToByteArray();
      } catch (err) {
        if (isMissingKey(err)) return null;
        throw err;
      }
    },
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        return true;
      } catch (err) {
        if (isMissingKey(err)) return false;
        throw err;
      }
    },
    async downloadUrl(key, ttlSeconds) {
      assertTtl(ttlSeconds, 'a download URL');
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: keyOf(key) }), {
        expiresIn: ttlSeconds,
      });
    },
    async uploadUrl(key, ttlSeconds, contentLength) {
      assertTtl(ttlSeconds, 'an upload URL');
      if (!Number.isSafeInteger(contentLength) || contentLength < 0)
        throw new RangeError('an upload URL is for a whole, non-negative number of bytes');
      // Content-Length stays a signed header (only x-amz-* headers are hoisted into the query), so S3 refuses
      // a body of any other length. No checksum parameter: the client's WHEN_REQUIRED setting keeps the SDK
      // from signing the checksum of an empty body, which real S3 would hold against the real one.
      return getSignedUrl(
        client,
        new PutObjectCommand({ Bucket: bucket, Key: keyOf(key), ContentLength: contentLength }),
        { expiresIn: ttlSeconds },
      );
    },
    async getStream(key) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        // In Node the SDK's body is a Readable: async-iterable, and destroyed when a reader stops early.
        const body = res.Body as unknown as AsyncIterable<Uint8Array> | undefined;
        if (!body || !(Symbol.asyncIterator in body))
          throw new Error(`S3 returned no body stream for ${bucket}/${keyOf(key)}`);
        return body;
      } catch (err) {
        if (isMissingKey(err)) return null;
        throw err;
      }
    },
    async copy(from, to) {
      // CopyObject reads one consistent version of the source, however the source changes meanwhile.
      try {
        await client.send(
          new CopyObjectCommand({ Bucket: bucket, Key: keyOf(to), CopySource: `${bucket}/${keyOf(from)}` }),
        );
        return true;
      } catch (err) {
        if (isMissingKey(err)) return false;
        throw err;
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
    },
  };
}

function assertTtl(ttlSeconds: number, what: string): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_URL_TTL_SECONDS)
    throw new RangeError(`${what} lives 1 to ${MAX_URL_TTL_SECONDS} whole seconds`);
}

/**
 * GET names a missing key NoSuchKey; HEAD has no body to name anything, so a 404 there is 'NotFound'. A missing
 * bucket on GET (NoSuchBucket) is a misconfiguration and is not hidden as a missing blob.
 */
function isMissingKey(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound');
}
