import type { BlobStore } from '../infra/blob-store.ts';
import type { Clock } from '../infra/clock.ts';
import type { OperationalLog } from '../infra/operational-log.ts';
import type { Queue } from '../infra/queue.ts';
import type { Database } from './db/database.ts';

export interface CloudLimits {
  /** Largest JSON request body, in bytes. */
  jsonBytes: number;
  /** Largest model upload (multipart: manifest + ONNX), in bytes. */
  modelUploadBytes: number;
  /** How far an envelope's timestamp may be from the cloud's clock, in milliseconds. */
  clockSkewMs: number;
  /** Model uploads (and direct-upload completions) served at once; more get 503 with Retry-After. */
  concurrentModelUploads: number;
  /** Model downloads streamed through the API at once; more get 503 with Retry-After. */
  concurrentModelDownloads: number;
  /** What one vendor's models may occupy in the blob store, in bytes (each model counted at its size). */
  vendorStorageBytes: number;
}

export const DEFAULT_LIMITS: CloudLimits = {
  jsonBytes: 1024 * 1024,
  modelUploadBytes: 512 * 1024 * 1024,
  clockSkewMs: 5 * 60 * 1000,
  concurrentModelUploads: 4,
  concurrentModelDownloads: 8,
  vendorStorageBytes: 20 * 1024 * 1024 * 1024,
};

/** Everything a cloud function needs from the outside world, injected so each runtime brings its own. */
export interface CloudDeps {
  db: Database;
  blobs: BlobStore;
  queue: Queue;
  clock: Clock;
  log: OperationalLog;
  limits?: Partial<CloudLimits>;
  /** How long a rollout approval holds before it falls due for review, in months (default 12). */
  approvalMonths?: number;
}

export function limitsOf(deps: CloudDeps): CloudLimits {
  return { ...DEFAULT_LIMITS, ...deps.limits };
}

/** The queue topic between POST /v1/reports and the ingest consumer. */
export const REPORTS_TOPIC = 'reports';
