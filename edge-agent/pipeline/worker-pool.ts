import { Worker } from 'node:worker_threads';
import type { RunDiagnostics } from './diagnostics.ts';
import type { FromWorker, ToWorker } from './worker.ts';

export interface PoolWorker {
  worker: Worker;
  /** The item it holds, from assignment until the file is done, skipped, failed or excluded (-1: reserved). */
  id?: number;
  /** Waiting for permission: 'go' after a header, 'more' after a chunk. */
  waiting?: 'go' | 'more';
}

export interface PoolEvents {
  message(w: PoolWorker, m: Exclude<FromWorker, { t: 'ready' }>): void;
  ready(): void;
  /** A worker died holding item `id` (undefined when it held none); a fresh one has taken its place. */
  crashed(id: number | undefined): void;
}

/**
 * The decode worker threads. Back-pressure lives here: a worker that sent a header or a chunk waits until
 * `permit` lets it go on, which happens only while the tensor queue is below its mark. A worker that dies
 * takes its item with it (the caller excludes it) and is replaced, so the pool keeps its size.
 */
export class WorkerPool {
  readonly #workers: PoolWorker[] = [];
  #ready = 0;

  constructor(
    private readonly init: Extract<ToWorker, { t: 'init' }>,
    private readonly events: PoolEvents,
    private readonly diagnostics: RunDiagnostics,
  ) {}

  start(count: number): void {
    for (let i = 0; i < count; i++) this.#workers.push(this.#spawn());
  }

  /** Workers that loaded (codecs included, or noted as missing). */
  get ready(): number {
    return this.#ready;
  }
  get size(): number {
    return this.#workers.length;
  }

  post(w: PoolWorker, m: ToWorker, transfer: ArrayBuffer[] = []): void {
    w.worker.postMessage(m, transfer);
  }

  /** The worker is done with its item and free for the next. */
  release(w: PoolWorker): void {
    w.id = undefined;
    w.waiting = undefined;
  }

  idle(): PoolWorker | undefined {
    return this.#workers.find((w) => w.id === undefined);
  }

  /** Lets waiting workers go on, while `full()` says the queue has room. */
  permit(full: () => boolean): void {
    for (const w of this.#workers) {
      if (full()) return;
      if (w.waiting && w.id !== undefined) {
        const kind = w.waiting;
        w.waiting = undefined;
        this.post(w, { t: kind, id: w.id });
      }
    }
  }

  /** Some worker is reading, parsing or decoding (not merely waiting for permission). */
  busy(): boolean {
    return this.#workers.some((w) => w.id !== undefined && !w.waiting);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate().catch(() => 0)));
  }

  #spawn(): PoolWorker {
    const w: PoolWorker = { worker: new Worker(new URL('./worker-entry.mjs', import.meta.url)) };
    w.worker.on('message', (m: FromWorker) => {
      if (m.t !== 'ready') return this.events.message(w, m);
      this.#ready++;
      if (m.codecsError) this.diagnostics.note('codecs', m.codecsError);
      this.events.ready();
    });
    w.worker.on('error', (err) => {
      this.diagnostics.note('worker', err);
      const id = w.id !== undefined && w.id >= 0 ? w.id : undefined;
      this.release(w);
      const index = this.#workers.indexOf(w);
      if (index >= 0) this.#workers[index] = this.#spawn();
      this.events.crashed(id);
    });
    this.post(w, this.init);
    return w;
  }
}
