import { parentPort } from 'node:worker_threads';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { initCodecs } from '../dicom/codecs.ts';
import { type DicomImage, type ImageExclusionReason, parseDicom, parseDicomHeader } from '../dicom/parse.ts';
import { readDicomFile } from '../dicom/read.ts';
import { selectImage } from './select.ts';
import { type StudyAttributes, studyAttributesOf } from './study-attributes.ts';
import { frameToTensor } from './tensor.ts';

/**
 * Pipeline worker: read (bounded: read.ts) → parse the header → select → (wait for the go-ahead) → [inflate,
 * for deflated files] → decode → preprocess, one file at a time, frames in chunks. The main thread owns
 * back-pressure: after a header the worker waits for `go` (or `skip` for a cached or duplicate instance), and
 * after each chunk of tensors for `more`.
 *
 * Nothing read from a file is ever put in an error: failures are the closed reason enum.
 */

export type ToWorker =
  | { t: 'init'; manifest: ModelManifest; chunk: number }
  | { t: 'item'; id: number; path?: string; bytes?: Uint8Array }
  | { t: 'go'; id: number }
  | { t: 'skip'; id: number }
  | { t: 'more'; id: number };

export type FromWorker =
  /** Loaded; without codecs (`codecsError` says why) compressed files end as decode-error. */
  | { t: 'ready'; codecsError?: string }
  | { t: 'excluded'; id: number; reason: ImageExclusionReason }
  | {
      t: 'header';
      id: number;
      sopInstanceUid: string;
      studyInstanceUid: string;
      frames: number;
      attributes: StudyAttributes;
      /** Selection's verdict; the main thread still checks duplicates and the cache. */
      rejected?: ImageExclusionReason;
    }
  | { t: 'frames'; id: number; tensors: Float32Array[]; done: boolean }
  | { t: 'failed'; id: number; reason: ImageExclusionReason };

const port = parentPort;
if (!port) throw new Error('worker: must run as a worker thread');

let manifest: ModelManifest | undefined;
let chunk = 8;
/** The file being produced; `bytes` are kept only until a deferred (deflated) file is parsed in full. */
let current: { id: number; image: DicomImage; next: number; bytes?: Uint8Array | undefined } | undefined;
let codecs: Promise<void> = Promise.resolve();

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function onItem(id: number, path?: string, bytes?: Uint8Array): Promise<void> {
  let data: Uint8Array;
  if (bytes) data = bytes;
  else {
    // Bounded by what the header declares; a file that vanished since the scan is 'unreadable-file'.
    const read = await readDicomFile(path!);
    if (typeof read === 'string') {
      send({ t: 'excluded', id, reason: read });
      return;
    }
    data = read;
  }
  // Header first: a deflated file is inflated only after the main thread has settled duplicates and the cache.
  const parsed = parseDicomHeader(data);
  if (!parsed.ok) {
    send({ t: 'excluded', id, reason: parsed.reason });
    return;
  }
  const image = parsed.image;
  const rejected = selectImage(image, manifest!);
  current = { id, image, next: 0, ...(image.pixelsDeferred ? { bytes: data } : {}) };
  send({
    t: 'header',
    id,
    sopInstanceUid: image.sopInstanceUid,
    studyInstanceUid: image.studyInstanceUid,
    frames: image.frames,
    attributes: studyAttributesOf(image),
    ...(rejected ? { rejected } : {}),
  });
}

function produce(id: number): void {
  if (!current || current.id !== id) return;
  if (current.bytes) {
    // The go-ahead for a deflated file: now inflate it (bounded by its header; a bomb ends here).
    const full = parseDicom(current.bytes);
    current.bytes = undefined;
    if (!full.ok) {
      current = undefined;
      send({ t: 'failed', id, reason: full.reason });
      return;
    }
    current.image = full.image;
  }
  const { image } = current;
  const end = Math.min(image.frames, current.next + chunk);
  const tensors: Float32Array[] = [];
  for (let f = current.next; f < end; f++) {
    let reason: ImageExclusionReason | undefined;
    try {
      // Decode and preprocess fused (bit-identical to decodeFrame + preprocess; see tensor.ts).
      const t = frameToTensor(image, f, manifest!.input);
      if (t.ok) tensors.push(t.tensor);
      else reason = t.reason;
    } catch {
      reason = 'decode-error';
    }
    if (reason) {
      current = undefined;
      send({ t: 'failed', id, reason });
      return;
    }
  }
  current.next = end;
  const done = end >= image.frames;
  if (done) current = undefined;
  send(
    { t: 'frames', id, tensors, done },
    tensors.map((x) => x.buffer as ArrayBuffer),
  );
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'init':
      manifest = m.manifest;
      chunk = m.chunk;
      // Without codecs, compressed files end as decode-error and everything else still works; the reason goes
      // to the main thread for the local diagnostic log.
      codecs = initCodecs().then(
        () => send({ t: 'ready' }),
        (err: unknown) => send({ t: 'ready', codecsError: err instanceof Error ? err.message : String(err) }),
      );
      return;
    case 'item':
      void codecs
        .then(() => onItem(m.id, m.path, m.bytes))
        .catch(() => send({ t: 'excluded', id: m.id, reason: 'unreadable' }));
      return;
    case 'go':
    case 'more':
      produce(m.id);
      return;
    case 'skip':
      if (current?.id === m.id) current = undefined;
      return;
  }
});
