/**
 * Where model artifacts live. Keys are paths such as `models/<sha256>.onnx`; the embedded implementation is a
 * folder (blob-store-fs.ts), the AWS one an S3 bucket (blob-store-s3.ts).
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  exists(key: string): Promise<boolean>;
  /**
   * A URL that lets anyone holding it GET the blob, without other credentials, for `ttlSeconds`. Only stores
   * that clients can reach directly have it (S3): the API then redirects downloads there instead of streaming
   * the bytes through itself. It does not check that the key exists.
   */
  downloadUrl?(key: string, ttlSeconds: number): Promise<string>;
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
