import { readFile } from 'node:fs/promises';
import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { decodeFrame } from '../dicom/decode.ts';
import { type ImageExclusionReason, parseDicom } from '../dicom/parse.ts';
import { walkFiles } from '../dicom/scan.ts';
import { StudyAggregator } from './aggregate.ts';
import { createInferenceSession, type Device, runBatch } from './infer.ts';
import { preprocess } from './preprocess.ts';
import { selectImage } from './select.ts';

/**
 * The folder pipeline, wired: scan → read → parse → select → dedupe → decode → preprocess → batch → infer →
 * aggregate.
 *
 * Accounting: every file the scan yields ends either used (scored) or excluded with exactly one reason, so
 * `images.used + Σ excluded = images.seen`. A file that throws anywhere is excluded, never fatal; a batch the
 * runtime rejects excludes its images as 'inference-error'.
 *
 * Memory: files are streamed (a few reads ahead), and at most two batches of tensors are alive — the one being
 * filled while the previous one runs — so CPU preprocessing overlaps inference.
 *
 * Multi-frame images contribute their first frame only (for now).
 *
 * Duplicates: the first file with a SOP Instance UID that passes selection claims it; later files with the same
 * UID are 'duplicate-instance' whatever happens to the first.
 */

export interface ScoreFolderProgress {
  filesSeen: number;
  imagesInferred: number;
  excluded: number;
}

export interface ScoreFolderOptions {
  dicomDir: string;
  manifest: ModelManifest;
  model: Uint8Array;
  device?: Device;
  batchSize?: number;
  threads?: number;
  onProgress?: (p: ScoreFolderProgress) => void;
}

export interface ScoreFolderResult {
  studyScores: Map<string, number>;
  images: { seen: number; used: number };
  excluded: ExclusionCounts;
  provider: string;
}

/** Files read ahead of the parser; enough to hide disk latency, few enough to bound memory. */
const READ_AHEAD = 4;
/** Progress is reported after every batch and at least this often while files are being excluded. */
const PROGRESS_EVERY_FILES = 100;

type Prepared =
  | { ok: true; tensor: Float32Array; studyInstanceUid: string }
  | { ok: false; reason: ImageExclusionReason };

/** The per-file chain up to the model input; pure apart from the shared duplicate set. */
export function prepareImage(bytes: Uint8Array, manifest: ModelManifest, claimed: Set<string>): Prepared {
  const parsed = parseDicom(bytes);
  if (!parsed.ok) return parsed;
  const { image } = parsed;
  const rejected = selectImage(image, manifest);
  if (rejected) return { ok: false, reason: rejected };
  if (claimed.has(image.sopInstanceUid)) return { ok: false, reason: 'duplicate-instance' };
  claimed.add(image.sopInstanceUid);
  const decoded = decodeFrame(image, 0);
  if (!decoded.ok) return decoded;
  return { ok: true, tensor: preprocess(decoded, manifest.input), studyInstanceUid: image.studyInstanceUid };
}

export async function scoreFolder(opts: ScoreFolderOptions): Promise<ScoreFolderResult> {
  const { manifest } = opts;
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 16));
  const created = await createInferenceSession(opts.model, {
    device: opts.device ?? 'auto',
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
  });
  const { session } = created;

  const excluded: ExclusionCounts = {};
  let excludedTotal = 0;
  let seen = 0;
  let used = 0;
  const exclude = (reason: ImageExclusionReason, n = 1) => {
    excluded[reason] = (excluded[reason] ?? 0) + n;
    excludedTotal += n;
  };
  const progress = () =>
    opts.onProgress?.({ filesSeen: seen, imagesInferred: used, excluded: excludedTotal });

  const aggregator = new StudyAggregator(manifest.studyAggregation);
  const claimed = new Set<string>();

  const infer = async (batch: { tensors: Float32Array[]; studies: string[] }) => {
    let scores: number[] | undefined;
    try {
      scores = await runBatch(session, manifest, batch.tensors);
    } catch {
      // The runtime's message may describe the model, never a patient; it still does not leave this function.
    }
    if (!scores || scores.length !== batch.studies.length) {
      exclude('inference-error', batch.studies.length);
    } else {
      batch.studies.forEach((study, i) => {
        const score = scores[i]!;
        if (Number.isFinite(score)) {
          aggregator.add(study, score);
          used++;
        } else {
          exclude('inference-error');
        }
      });
    }
    progress();
  };

  let filling = { tensors: [] as Float32Array[], studies: [] as string[] };
  let running: Promise<void> = Promise.resolve();
  try {
    for await (const bytes of readAhead(walkFiles(opts.dicomDir), READ_AHEAD)) {
      seen++;
      let prepared: Prepared;
      if (bytes === null) {
        prepared = { ok: false, reason: 'unreadable' };
      } else {
        try {
          prepared = prepareImage(bytes, manifest, claimed);
        } catch {
          prepared = { ok: false, reason: 'decode-error' };
        }
      }
      if (!prepared.ok) {
        exclude(prepared.reason);
        if (seen % PROGRESS_EVERY_FILES === 0) progress();
        continue;
      }
      filling.tensors.push(prepared.tensor);
      filling.studies.push(prepared.studyInstanceUid);
      if (filling.tensors.length >= batchSize) {
        await running;
        running = infer(filling);
        filling = { tensors: [], studies: [] };
      }
    }
    await running;
    if (filling.tensors.length > 0) await infer(filling);
  } finally {
    await running.catch(() => {});
    await session.release().catch(() => {});
  }
  progress();

  return { studyScores: aggregator.result(), images: { seen, used }, excluded, provider: created.provider };
}

/**
 * Reads files a few ahead of the consumer, in scan order. An unreadable file comes through as null (it is
 * still a file seen and must be accounted for); its error, which names the path, is dropped here.
 */
async function* readAhead(paths: AsyncIterable<string>, depth: number): AsyncGenerator<Uint8Array | null> {
  const queue: Promise<Uint8Array | null>[] = [];
  const read = (path: string) =>
    readFile(path).then(
      (buf) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
      () => null,
    );
  for await (const path of paths) {
    queue.push(read(path));
    if (queue.length >= depth) yield await queue.shift()!;
  }
  while (queue.length > 0) yield await queue.shift()!;
}
