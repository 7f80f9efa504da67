import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { ImageExclusionReason } from '../dicom/parse.ts';
import { folderSource } from '../sources/folder.ts';
import type { ImageSource, SourceItem } from '../sources/source.ts';
import type { PredictionCache } from '../state/predictions.ts';
import { StudyAggregator } from './aggregate.ts';
import { ClaimSet } from './dedupe.ts';
import { createInferenceSession, type Device, type Provider, runBatch } from './infer.ts';
import { JobFailure } from './job-failure.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, type MemoryPlan, planMemory } from './memory-budget.ts';
import type { StudyAttributes } from './study-attributes.ts';
import type { FromWorker, ToWorker } from './worker.ts';

/**
 * The streaming pipeline: source → [worker threads: read → parse → select → decode → preprocess] → batch →
 * infer (ONNX Runtime, main thread, its own threads) → aggregate, with a per-image prediction cache.
 *
 * Accounting: every item the source yields ends either used (scored, now or from the cache) or excluded
 * with exactly one reason, so `images.used + Σ excluded = images.seen`. A file that fails anywhere — even a
 * worker thread that dies on it — is excluded, never fatal; a batch the runtime rejects excludes its images
 * as 'inference-error'.
 *
 * Multi-frame: every frame is an image for the model; the instance's frame scores go into its study like
 * separate images would (max, or mean over all frames of the study). The instance is used when all its frames
 * scored; one bad frame excludes the instance. Counts stay per file.
 *
 * Memory (back-pressure): workers hand over tensors in chunks and wait for permission before the next chunk
 * or the next file; permission is given only while fewer than `3 × batchSize` tensors wait for inference. So
 * at most about three batches plus one chunk per worker are alive, whatever the size of the archive.
 * What grows with the run: per study, one aggregate (max or sum, count) and its subgroup attributes — a few
 * numbers and short enum strings per study, kept because the site report is computed over all studies at
 * the end (they cannot be flushed early: labels join and the report's statistics need every study score).
 * Duplicate detection is bounded: `ClaimSet` (dedupe.ts) holds a fixed window of recent SOP Instance UIDs,
 * a fixed-size Bloom filter, and spills older UIDs to a run-private temporary file. Everything else (files
 * in flight, the queue, pending claims) is bounded by the pool size and the high-water mark.
 *
 * Cache: after a header is read the instance is looked up by (predictionCacheKey, SOP Instance UID); a hit is used
 * without decoding or inference. Scores are written once per batch, so a killed run loses at most the batch
 * in flight.
 *
 * Duplicates: the first file with a SOP Instance UID that passes selection claims it; later files with the
 * same UID are 'duplicate-instance' whatever happens to the first. A source that names an item's UID before
 * its download (DICOMweb) has it claimed and looked up in the cache first: duplicates and cached instances
 * (of a study whose attributes this run already has) are settled without downloading them.
 */

export interface PipelineProgress {
  filesSeen: number;
  /** How many files the source will yield, once known (for the ETA). */
  filesTotal?: number;
  framesDecoded: number;
  /** Frames (images) run through the model in this run. */
  imagesInferred: number;
  /** Instances taken from the prediction cache (no decode, no inference). */
  cached: number;
  used: number;
  excluded: number;
  excludedByReason: ExclusionCounts;
  elapsedSeconds: number;
  /** Images inferred per second since the start. */
  imagesPerSecond: number;
  etaSeconds?: number;
}

/** Kept for callers of the first loop: the fields it reported are still there. */
export type ScoreFolderProgress = PipelineProgress;

export interface ScoreFolderOptions {
  /** A folder, read recursively (ignored when `source` is given). */
  dicomDir?: string;
  source?: ImageSource;
  manifest: ModelManifest;
  model: Uint8Array;
  device?: Device;
  /** Images per inference run; by default 8 on the CPU and 32 on a GPU provider. */
  batchSize?: number;
  /** Inference threads (ONNX Runtime intra-op). */
  threads?: number;
  /** Let ONNX Runtime's threads spin between runs (default off: the spinning steals the workers' cores). */
  spinning?: boolean;
  /** Decode worker threads; by default one fewer than the cores (at least 2, at most 8). */
  workers?: number;
  /** What the run may hold (default 2048 MiB): batch size and workers are lowered to fit (memory-budget.ts). */
  memoryBudgetMiB?: number;
  cache?: PredictionCache;
  onProgress?: (p: PipelineProgress) => void;
}

export interface ScoreFolderResult {
  studyScores: Map<string, number>;
  /** For the studies in `studyScores`: attributes for subgroup counts (never sent as such). */
  studyAttributes: Map<string, StudyAttributes>;
  images: { seen: number; used: number };
  excluded: ExclusionCounts;
  provider: Provider;
  /** Frames inferred in this run, and instances taken from the cache. */
  inferred: number;
  cached: number;
  /** Cached instances a DICOMweb source named, used without downloading them (a subset of `cached`). */
  downloadsSkipped: number;
  batchSize: number;
  /** Decode workers the run used (the setting or default, lowered to the memory budget). */
  workers: number;
  stages: StageTimes;
}

/** Where the time went (seconds; decode is summed over workers, so it can exceed the wall time). */
export interface StageTimes {
  /** From the first file handed to a worker to the last score (excludes startup). */
  wall: number;
  /** Starting the worker threads (loader, codecs) and one warm-up batch — once per run, before `wall`. */
  startup: number;
  inference: number;
  /** Main thread waiting for tensors while inference was idle: the workers were the bottleneck. */
  starved: number;
}

const PROGRESS_EVERY_FILES = 100;

export const defaultBatchSize = (provider: Provider) => (provider === 'cpu' ? 8 : 32);
// At least two: measured on the 2-core dev box (bench, ResNet-18 224, CPU), a second worker beside ORT's two
// non-spinning threads costs nothing on uncompressed slices (72 → 74 img/s) and lifts JPEG-LS 51 → 59 img/s,
// because decoding then fills the gaps of both cores between and inside inference runs.
export const defaultWorkers = () => Math.max(2, Math.min(8, availableParallelism() - 1));

interface FileState {
  study: string;
  sop: string;
  frames: number;
  /** Tensors queued or being inferred. */
  pending: number;
  scored: number;
  max: number;
  sum: number;
  producing: boolean;
  failed?: ImageExclusionReason;
}

interface PoolWorker {
  worker: Worker;
  /** The item it holds (from assignment until the file is done, skipped, failed or excluded). */
  id?: number;
  /** Waiting for permission: 'go' after a header, 'more' after a chunk. */
  waiting?: 'go' | 'more';
}

export async function scoreFolder(opts: ScoreFolderOptions): Promise<ScoreFolderResult> {
  const source = opts.source ?? (opts.dicomDir ? folderSource(opts.dicomDir) : undefined);
  if (!source) throw new Error('pipeline: no DICOM source (a folder or DICOMweb) was given');
  const { manifest } = opts;
  const created = await createInferenceSession(opts.model, {
    manifest,
    device: opts.device ?? 'auto',
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.spinning ? { spinning: true } : {}),
  });
  const { session } = created;
  let plan: MemoryPlan;
  try {
    plan = planMemory({
      budgetMiB: opts.memoryBudgetMiB ?? DEFAULT_MEMORY_BUDGET_MIB,
      input: manifest.input,
      modelBytes: opts.model.byteLength,
      batchSize: Math.floor(opts.batchSize ?? defaultBatchSize(created.provider)),
      workers: Math.floor(opts.workers ?? defaultWorkers()),
    });
  } catch (err) {
    await session.release().catch(() => {});
    throw err;
  }
  const { batchSize } = plan;
  const chunk = Math.min(batchSize, 8);
  const highWater = 3 * batchSize;
  let started = performance.now();
  const stages: StageTimes = { wall: 0, startup: 0, inference: 0, starved: 0 };

  const excluded: ExclusionCounts = {};
  let excludedTotal = 0;
  let seen = 0;
  let used = 0;
  let inferred = 0;
  let cachedCount = 0;
  /** Cached DICOMweb instances used without downloading them. */
  let skippedDownloads = 0;
  let framesDecoded = 0;
  let filesTotal: number | undefined;
  const aggregator = new StudyAggregator(manifest.studyAggregation);
  const attributes = new Map<string, StudyAttributes>();
  const claims = new ClaimSet();
  /** Items claimed by the UID their source named before the download (id → SOP Instance UID). */
  const preclaims = new Map<number, string>();
  const files = new Map<number, FileState>();
  const queue: { id: number; tensor: Float32Array }[] = [];

  void source.estimate?.().then(
    (n) => {
      filesTotal = n;
    },
    () => {},
  );

  const exclude = (reason: ImageExclusionReason) => {
    excluded[reason] = (excluded[reason] ?? 0) + 1;
    excludedTotal++;
  };
  let lastProgressAt = 0;
  const progress = (force = false) => {
    if (!opts.onProgress) return;
    const done = used + excludedTotal;
    if (!force && done - lastProgressAt < PROGRESS_EVERY_FILES) return;
    lastProgressAt = done;
    const elapsed = (performance.now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const p: PipelineProgress = {
      filesSeen: seen,
      framesDecoded,
      imagesInferred: inferred,
      cached: cachedCount,
      used,
      excluded: excludedTotal,
      excludedByReason: { ...excluded },
      elapsedSeconds: elapsed,
      imagesPerSecond: elapsed > 0 ? inferred / elapsed : 0,
    };
    if (filesTotal !== undefined) {
      p.filesTotal = filesTotal;
      if (rate > 0) p.etaSeconds = Math.max(0, (filesTotal - done) / rate);
    }
    opts.onProgress(p);
  };

  // --- the pool ---------------------------------------------------------------------------------------------
  const pool: PoolWorker[] = [];
  const byId = new Map<number, PoolWorker>();
  let failure: unknown;
  let wake: () => void = () => {};
  let pendingDecisions = 0;
  let readyCount = 0;
  let running = false;
  let pendingLoads = 0;

  const post = (w: PoolWorker, m: ToWorker, transfer: ArrayBuffer[] = []) =>
    w.worker.postMessage(m, transfer);
  const release = (w: PoolWorker) => {
    if (w.id !== undefined) byId.delete(w.id);
    w.id = undefined;
    w.waiting = undefined;
  };

  const finalize = (id: number, f: FileState) => {
    if (f.pending > 0 || (f.producing && !f.failed)) return false;
    files.delete(id);
    if (f.failed) exclude(f.failed);
    else {
      used++;
      aggregator.addInstance(f.study, f.max, f.sum, f.frames);
      return true;
    }
    return false;
  };

  const duplicate = (w: PoolWorker, id: number) => {
    exclude('duplicate-instance');
    post(w, { t: 'skip', id });
    release(w);
    progress();
  };

  /** A header that passed selection and claimed its UID: take it from the cache, or let the worker decode. */
  const accept = (w: PoolWorker, m: Extract<FromWorker, { t: 'header' }>) => {
    if (!attributes.has(m.studyInstanceUid)) attributes.set(m.studyInstanceUid, m.attributes);
    const state: FileState = {
      study: m.studyInstanceUid,
      sop: m.sopInstanceUid,
      frames: m.frames,
      pending: 0,
      scored: 0,
      max: Number.NEGATIVE_INFINITY,
      sum: 0,
      producing: true,
    };
    if (!opts.cache) {
      files.set(m.id, state);
      w.waiting = 'go';
      return;
    }
    pendingDecisions++;
    opts.cache.get(m.sopInstanceUid).then(
      (hit) => {
        pendingDecisions--;
        if (hit) {
          cachedCount++;
          used++;
          aggregator.addInstance(m.studyInstanceUid, hit.scoreMax, hit.scoreSum, hit.frames);
          post(w, { t: 'skip', id: m.id });
          release(w);
          progress();
        } else {
          files.set(m.id, state);
          w.waiting = 'go';
          permit();
        }
        pull();
        wake();
      },
      (err) => {
        pendingDecisions--;
        failure ??= err;
        wake();
      },
    );
  };

  const onMessage = (w: PoolWorker, m: FromWorker) => {
    switch (m.t) {
      case 'ready':
        readyCount++;
        break;
      case 'excluded':
        preclaims.delete(m.id);
        exclude(m.reason);
        release(w);
        progress();
        break;
      case 'header': {
        if (m.rejected) {
          exclude(m.rejected);
          post(w, { t: 'skip', id: m.id });
          release(w);
          progress();
          break;
        }
        // Claimed before the download (DICOMweb items that named their UID): already ours.
        const preclaimed = preclaims.get(m.id);
        preclaims.delete(m.id);
        const claim = preclaimed === m.sopInstanceUid ? true : claims.claim(m.sopInstanceUid);
        if (claim === true) {
          accept(w, m);
          break;
        }
        if (claim === false) {
          duplicate(w, m.id);
          break;
        }
        pendingDecisions++;
        claim.then(
          (ok) => {
            pendingDecisions--;
            if (ok) accept(w, m);
            else duplicate(w, m.id);
            permit();
            pull();
            wake();
          },
          (err) => {
            pendingDecisions--;
            failure ??= err;
            wake();
          },
        );
        break;
      }
      case 'frames': {
        const f = files.get(m.id);
        framesDecoded += m.tensors.length;
        if (f) {
          for (const tensor of m.tensors) queue.push({ id: m.id, tensor });
          f.pending += m.tensors.length;
          if (m.done) f.producing = false;
        }
        if (m.done) release(w);
        else w.waiting = 'more';
        break;
      }
      case 'failed': {
        const f = files.get(m.id);
        if (f) {
          f.failed = m.reason;
          f.producing = false;
          finalize(m.id, f);
        }
        release(w);
        progress();
        break;
      }
    }
    // Keep the workers busy while inference runs: permissions and new files go out from here too, not only
    // from the main loop (which is awaiting the model).
    if (running) {
      permit();
      pull();
    }
    wake();
  };

  const spawn = (): PoolWorker => {
    const w: PoolWorker = {
      worker: new Worker(new URL('./worker-entry.mjs', import.meta.url)),
    };
    w.worker.on('message', (m: FromWorker) => onMessage(w, m));
    w.worker.on('error', () => {
      // A worker that dies takes its file with it: excluded, and a fresh worker takes its place.
      const id = w.id;
      if (id !== undefined) {
        const f = files.get(id);
        if (f) {
          f.failed = 'decode-error';
          f.producing = false;
          finalize(id, f);
        } else exclude('decode-error');
      }
      release(w);
      const index = pool.indexOf(w);
      if (index >= 0) pool[index] = spawn();
      wake();
    });
    post(w, { t: 'init', manifest, chunk });
    return w;
  };
  const workerCount = plan.workers;
  const startupBegan = performance.now();
  for (let i = 0; i < workerCount; i++) pool.push(spawn());
  // Warm the session while the workers load: the first run allocates the runtime's memory arena and picks
  // kernels (tens of ms on a CPU, more on a GPU); one full-size zero batch moves that out of the scoring loop.
  // A model that cannot run a full batch just skips the warm-up (the loop finds out and reports it); one that
  // cannot run even one blank image cannot score anything: the job fails (inference-failed), no image read.
  const { channels, height, width } = manifest.input;
  const blank = (n: number) => Array.from({ length: n }, () => new Float32Array(channels * height * width));
  const unrunnable = await runBatch(session, manifest, blank(batchSize)).then(
    () => undefined,
    () =>
      runBatch(session, manifest, blank(1)).then(
        () => undefined,
        (err: unknown) => err,
      ),
  );
  if (unrunnable !== undefined) {
    await Promise.all(pool.map((w) => w.worker.terminate().catch(() => 0)));
    await session.release().catch(() => {});
    throw unrunnable instanceof JobFailure ? unrunnable : new JobFailure('inference-failed');
  }
  while (readyCount < workerCount && !failure) {
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  wake = () => {};
  stages.startup = (performance.now() - startupBegan) / 1000;
  started = performance.now();

  // --- the loop ---------------------------------------------------------------------------------------------
  const iterator = source.items()[Symbol.asyncIterator]();
  let sourceDone = false;
  let pulling = false;
  let nextId = 0;

  const assign = (w: PoolWorker, item: SourceItem) => {
    const id = nextId++;
    w.id = id;
    byId.set(id, w);
    seen++;
    if (item.kind === 'unreadable') {
      exclude('unreadable-file');
      release(w);
      progress();
      return;
    }
    if (item.kind === 'file') {
      post(w, { t: 'item', id, path: item.path });
      return;
    }
    pendingLoads++;
    const load = () =>
      item.load().then(
        (bytes) => {
          pendingLoads--;
          post(w, { t: 'item', id, bytes }, [bytes.buffer as ArrayBuffer]);
          wake();
        },
        () => {
          pendingLoads--;
          preclaims.delete(id);
          exclude('unreadable');
          release(w);
          wake();
        },
      );
    if (!item.sopInstanceUid) {
      void load();
      return;
    }
    // The source named the instance (DICOMweb): a duplicate, or an instance this model already scored, is
    // settled before its bytes are downloaded. A cached instance is used without the download only once its
    // study's attributes are known (from another instance's header in this run), so subgroups stay complete.
    const sop = item.sopInstanceUid;
    void (async () => {
      const claimed = await claims.claim(sop);
      if (!claimed) {
        pendingLoads--;
        duplicate(w, id);
        return;
      }
      preclaims.set(id, sop);
      const hit = opts.cache ? await opts.cache.get(sop) : undefined;
      if (hit && attributes.has(hit.studyInstanceUid)) {
        pendingLoads--;
        preclaims.delete(id);
        cachedCount++;
        used++;
        skippedDownloads++;
        aggregator.addInstance(hit.studyInstanceUid, hit.scoreMax, hit.scoreSum, hit.frames);
        release(w);
        progress();
        wake();
        return;
      }
      await load();
    })().catch((err) => {
      pendingLoads--;
      failure ??= err;
      wake();
    });
  };

  const pull = () => {
    if (pulling || sourceDone || queue.length >= highWater) return;
    const idle = pool.find((w) => w.id === undefined);
    if (!idle) return;
    pulling = true;
    idle.id = -1; // reserved while the source produces the item
    iterator.next().then(
      (r) => {
        pulling = false;
        idle.id = undefined;
        if (r.done) sourceDone = true;
        else {
          assign(idle, r.value);
          pull();
        }
        wake();
      },
      (err) => {
        pulling = false;
        idle.id = undefined;
        failure ??= err;
        wake();
      },
    );
  };

  const permit = () => {
    for (const w of pool) {
      if (queue.length >= highWater) return;
      if (w.waiting && w.id !== undefined) {
        const kind = w.waiting;
        w.waiting = undefined;
        post(w, { t: kind, id: w.id });
      }
    }
  };

  const busy = () =>
    pulling || pendingDecisions > 0 || pendingLoads > 0 || pool.some((w) => w.id !== undefined && !w.waiting);

  const inferOnce = async () => {
    const batch: { id: number; tensor: Float32Array }[] = [];
    while (batch.length < batchSize && queue.length > 0) {
      const next = queue.shift()!;
      const f = files.get(next.id);
      if (!f || f.failed) {
        if (f) {
          f.pending--;
          finalize(next.id, f);
        }
        continue;
      }
      batch.push(next);
    }
    if (batch.length === 0) return;
    permit(); // room in the queue again: let workers go on while the model runs
    const t0 = performance.now();
    let scores: number[] | undefined;
    try {
      scores = await runBatch(
        session,
        manifest,
        batch.map((b) => b.tensor),
      );
    } catch {
      // The runtime's message may describe the model, never a patient; it still does not leave this function.
    }
    stages.inference += (performance.now() - t0) / 1000;
    const ok = scores !== undefined && scores.length === batch.length;
    const toCache: Parameters<PredictionCache['put']>[0] = [];
    batch.forEach((b, i) => {
      const f = files.get(b.id)!;
      f.pending--;
      const score = ok ? scores![i]! : Number.NaN;
      if (!Number.isFinite(score)) f.failed ??= 'inference-error';
      else {
        inferred++;
        f.scored++;
        f.max = Math.max(f.max, score);
        f.sum += score;
      }
      if (finalize(b.id, f))
        toCache.push({
          sopInstanceUid: f.sop,
          studyInstanceUid: f.study,
          frames: f.frames,
          scoreMax: f.max,
          scoreSum: f.sum,
        });
    });
    if (opts.cache && toCache.length) await opts.cache.put(toCache);
    progress(true);
  };

  running = true;
  try {
    for (;;) {
      if (failure) throw failure;
      permit();
      pull();
      const finished = sourceDone && !busy() && files.size === 0 && queue.length === 0;
      if (finished) break;
      // A full batch, or whatever is queued when nothing else can arrive without inference making room.
      if (queue.length >= batchSize || (queue.length > 0 && !busy())) {
        await inferOnce();
        continue;
      }
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = () => {};
      stages.starved += (performance.now() - t0) / 1000;
    }
  } finally {
    await Promise.all(pool.map((w) => w.worker.terminate().catch(() => 0)));
    await session.release().catch(() => {});
    await iterator.return?.().catch(() => {});
    await claims.close().catch(() => {});
  }
  stages.wall = (performance.now() - started) / 1000;
  progress(true);

  const studyScores = aggregator.result();
  const studyAttributes = new Map<string, StudyAttributes>();
  for (const study of studyScores.keys()) studyAttributes.set(study, attributes.get(study) ?? {});
  return {
    studyScores,
    studyAttributes,
    images: { seen, used },
    excluded,
    provider: created.provider,
    inferred,
    cached: cachedCount,
    downloadsSkipped: skippedDownloads,
    batchSize,
    workers: workerCount,
    stages,
  };
}

export const modelSha256 = (model: Uint8Array) => createHash('sha256').update(model).digest('hex');

/**
 * What the prediction cache is keyed by: an image's score depends on the ONNX bytes *and* on the manifest's
 * preprocessing and output (window, normalisation, resize, channels, input/output names, activation, index).
 * Two models with the same bytes but another window must not reuse each other's scores. Threshold and study
 * aggregation are applied after the cache (it keeps max and sum), so they are not part of the key.
 */
export const predictionCacheKey = (model: Uint8Array, manifest: Pick<ModelManifest, 'input' | 'output'>) =>
  createHash('sha256')
    .update(`${modelSha256(model)}\n${canonicalJson({ input: manifest.input, output: manifest.output })}`)
    .digest('hex');
