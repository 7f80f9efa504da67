import type ort from 'onnxruntime-node';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { PredictionCache } from '../state/predictions.ts';
import type { RunAccounting } from './accounting.ts';
import type { Admission, Admitted } from './admission.ts';
import type { Batcher } from './batcher.ts';
import type { RunDiagnostics } from './diagnostics.ts';
import { runBatch } from './infer.ts';
import type { StageTimes } from './pipeline-types.ts';
import type { SourceFeed } from './source-feed.ts';
import type { FromWorker } from './worker.ts';
import type { PoolWorker, WorkerPool } from './worker-pool.ts';

type Header = Extract<FromWorker, { t: 'header' }>;

export interface SchedulerParts {
  session: ort.InferenceSession;
  manifest: ModelManifest;
  cache: PredictionCache | undefined;
  accounting: RunAccounting;
  batcher: Batcher;
  admission: Admission;
  diagnostics: RunDiagnostics;
  stages: StageTimes;
}

/**
 * The main thread's loop: hands items from the source to idle workers, answers their messages (admission,
 * frames, failures), and runs the model on a full batch — or on whatever is queued when nothing more can
 * arrive without inference making room. Anything that fails the run itself (the source, the claims file, the
 * cache) is kept in `failure` and thrown from `run`.
 */
export class Scheduler {
  readonly #p: SchedulerParts;
  #pool!: WorkerPool;
  #feed!: SourceFeed;
  #failure: unknown;
  #wake: () => void = () => {};
  /** Admissions waiting for the claims file or the cache. */
  #decisions = 0;
  #running = false;

  constructor(parts: SchedulerParts) {
    this.#p = parts;
  }

  attach(pool: WorkerPool, feed: SourceFeed): void {
    this.#pool = pool;
    this.#feed = feed;
  }

  /** Wakes the loop; after an asynchronous decision, first lets workers and the source go on. */
  wake = (kick = false): void => {
    if (kick) this.#advance();
    this.#wake();
  };

  fail = (err: unknown): void => {
    this.#failure ??= err;
    this.#wake();
  };

  async untilReady(): Promise<void> {
    while (this.#pool.ready < this.#pool.size && !this.#failure) await this.#sleep();
  }

  onMessage = (w: PoolWorker, m: Exclude<FromWorker, { t: 'ready' }>): void => {
    const { accounting, batcher, admission } = this.#p;
    if (m.t === 'excluded') {
      admission.forget(m.id);
      accounting.exclude(m.reason);
      this.#settled(w);
    } else if (m.t === 'header') this.#onHeader(w, m);
    else if (m.t === 'frames') {
      batcher.push(m.id, m.tensors, m.done);
      if (m.done) this.#pool.release(w);
      else w.waiting = 'more';
    } else {
      batcher.fail(m.id, m.reason);
      this.#settled(w);
    }
    // Keep the workers busy while inference runs: permissions and new files go out from here too, not only
    // from the main loop (which is awaiting the model).
    if (this.#running) this.#advance();
    this.#wake();
  };

  onCrashed = (id: number | undefined): void => {
    if (id !== undefined && !this.#p.batcher.fail(id, 'decode-error'))
      this.#p.accounting.exclude('decode-error');
    this.#wake();
  };

  async run(): Promise<void> {
    const { batcher, stages } = this.#p;
    this.#running = true;
    for (;;) {
      if (this.#failure) throw this.#failure;
      this.#advance();
      if (this.#feed.done && !this.#busy() && batcher.inFlight === 0 && batcher.queued === 0) return;
      if (batcher.hasFullBatch || (batcher.queued > 0 && !this.#busy())) {
        await this.#inferOnce();
        continue;
      }
      const t0 = performance.now();
      await this.#sleep();
      stages.starved += (performance.now() - t0) / 1000;
    }
  }

  #onHeader(w: PoolWorker, m: Header): void {
    if (m.rejected) {
      this.#p.accounting.exclude(m.rejected);
      this.#skip(w, m.id);
      return;
    }
    const decision = this.#p.admission.admit(m);
    if (typeof decision === 'string') {
      this.#admitted(w, m, decision);
      return;
    }
    this.#decisions++;
    decision.then(
      (d) => {
        this.#decisions--;
        this.#admitted(w, m, d);
        this.wake(true);
      },
      (err) => {
        this.#decisions--;
        this.fail(err);
      },
    );
  }

  #admitted(w: PoolWorker, m: Header, decision: Admitted): void {
    if (decision !== 'decode') {
      this.#skip(w, m.id);
      return;
    }
    this.#p.batcher.open(m.id, { study: m.studyInstanceUid, sop: m.sopInstanceUid, frames: m.frames });
    w.waiting = 'go';
  }

  /** The worker drops the item (cached, duplicate, not selected) and is free. */
  #skip(w: PoolWorker, id: number): void {
    this.#pool.post(w, { t: 'skip', id });
    this.#settled(w);
  }

  #settled(w: PoolWorker): void {
    this.#pool.release(w);
    this.#p.accounting.progress();
  }

  #advance(): void {
    this.#pool.permit(() => this.#p.batcher.full);
    this.#feed.pull();
  }

  #busy(): boolean {
    return this.#feed.busy() || this.#decisions > 0 || this.#pool.busy();
  }

  #sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    }).finally(() => {
      this.#wake = () => {};
    });
  }

  async #inferOnce(): Promise<void> {
    const { session, manifest, cache, accounting, batcher, diagnostics, stages } = this.#p;
    const batch = batcher.take();
    if (batch.length === 0) return;
    this.#pool.permit(() => batcher.full); // room in the queue again: let workers go on while the model runs
    const t0 = performance.now();
    let scores: number[] | undefined;
    try {
      scores = await runBatch(
        session,
        manifest,
        batch.map((b) => b.tensor),
      );
    } catch (err) {
      // The batch's images are excluded as 'inference-error'; the runtime's words go to the local log only.
      diagnostics.note('inference', err);
    }
    stages.inference += (performance.now() - t0) / 1000;
    const completed = batcher.record(batch, scores);
    if (cache && completed.length) await cache.put(completed);
    accounting.progress(true);
  }
}
