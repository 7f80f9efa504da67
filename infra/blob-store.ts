/**
 * Where model artifacts live. Keys are paths such as `models/<sha256>.onnx`; the embedded implementation is a
 * folder (blob-store-fs.ts), the AWS one an S3 bucket (blob-store-s3.ts).
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  exists(key: string): Promise<boolean>;
  /**
   * Stores a stream of bytes under `key` holding at most a bounded buffer (a model of hundreds of MiB); readers
   * see the whole blob or none of it. If the stream throws, nothing is stored and the error is rethrown.
   * Returns the number of bytes stored.
   */
  putStream(key: string, chunks: AsyncIterable<Uint8Array>): Promise<number>;
  /** The blob's bytes as a stream, for hashing or serving a large object without holding it; null when missing. */
  getStream(key: string): Promise<AsyncIterable<Uint8Array> | null>;
  /** The blob's size in bytes; null when missing. */
  size(key: string): Promise<number | null>;
  /** Copies one blob to another key, server-side where the backend can; false when `from` is missing. */
  copy(from: string, to: string): Promise<boolean>;
  /** Deletes a blob; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /**
   * A URL that lets anyone holding it GET the blob, without other credentials, for `ttlSeconds`. Only stores
   * that clients can reach directly have it (S3): the API then redirects downloads there instead of streaming
   * the bytes through itself. It does not check that the key exists.
   */
  downloadUrl?(key: string, ttlSeconds: number): Promise<string>;
  /**
   * A URL that lets anyone holding it PUT exactly `contentLength` bytes to `key`, without other credentials,
   * for `ttlSeconds` (the length is signed where the backend can: S3 then refuses a body of another length).
   * It lets clients upload large models past the API (direct uploads): the API hands out the URL, then
   * streams the staged object to hash and check it and copies it into place.
   */
  uploadUrl?(key: string, ttlSeconds: number, contentLength: number): Promise<string>;
}

/** A store clients can upload to directly (S3); null otherwise (a folder). */
export type DirectUploadStore = BlobStore & Required<Pick<BlobStore, 'uploadUrl'>>;

export function directUploadsOf(store: BlobStore): DirectUploadStore | null {
  return store.uploadUrl ? (store as DirectUploadStore) : null;
}

const KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/**
 * Refuses keys that could escape the store's root or mean different things on different backends: only
 * `[a-z0-9/._-]`, no empty segments, no `.`/`..` segments, no leading slash.
 */
export function assertBlobKey(key: string): void {
  if (key.length > 512 || !KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new TypeError('invalid blob key');
  }
}
