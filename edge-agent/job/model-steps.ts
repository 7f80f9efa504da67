import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudApi } from '../../client/cloud-api.ts';
import type { Job } from '../../schemas/job.ts';
import type { AgentSettings } from '../config.ts';
import { verifyModelSignature } from '../model-signature.ts';
import { JobFailure } from '../pipeline/job-failure.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Step fetch-model: the job's model bytes (the cached copy, or a download), only if their sha256 equals the
 * pinned one — a model whose bytes differ is never run (model-sha256-mismatch) nor kept.
 */
export async function fetchModel(api: CloudApi, stateDir: string, job: Job): Promise<Uint8Array> {
  const pinned = job.model.sha256;
  if (job.model.manifest.sha256 && job.model.manifest.sha256 !== pinned)
    throw new JobFailure('model-sha256-mismatch');
  const dir = join(stateDir, 'models');
  const cached = join(dir, `${pinned}.onnx`);
  let bytes: Uint8Array | null = existsSync(cached) ? new Uint8Array(readFileSync(cached)) : null;
  if (!bytes || sha256(bytes) !== pinned) {
    bytes = await api.bytes(job.model.downloadUrl);
    if (sha256(bytes) !== pinned) throw new JobFailure('model-sha256-mismatch');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(cached, bytes);
  }
  return bytes;
}

/**
 * Step verify-model: the vendor's signature over the manifest and the ONNX sha256, checked against the vendor
 * key the cloud registered — before the bytes reach ONNX Runtime.
 */
export function verifyModel(job: Job, settings: AgentSettings): void {
  const { signature, vendorKey } = job.model;
  if (!signature || !vendorKey) {
    if (settings.requireSignedModels) throw new JobFailure('model-unsigned');
    return;
  }
  const check = verifyModelSignature(job.model.manifest, job.model.sha256, signature, vendorKey.publicKey);
  if (!check.ok) throw new JobFailure('model-signature-invalid');
}
