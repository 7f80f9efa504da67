/**
 * Where model artifacts live. Keys are paths such as `models/<sha256>.onnx`; the embedded implementation is a
 * folder (blob-store-fs.ts), the AWS one will be an S3 bucket.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  exists(key: string): Promise<boolean>;
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
