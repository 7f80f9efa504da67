import type { ImageSource, SourceItem } from '../sources/source.ts';
import type { RunAccounting } from './accounting.ts';
import type { Admission } from './admission.ts';
import type { PoolWorker, WorkerPool } from './worker-pool.ts';

export interface FeedHooks {
  /** Whether the tensor queue is at its mark (no new item then). */
  full(): boolean;
  /** Something changed; `kick` also lets workers and the source go on. */
  wake(kick?: boolean): void;
  fail(err: unknown): void;
}

/**
 * Takes items from the source one at a time, only when a worker is idle and the tensor queue has room, and
 * hands each to that worker: a file by path, a download once its bytes are in. A DICOMweb item that names its
 * UID is first put to admission, so duplicates and cached instances are settled without downloading them.
 */
export class SourceFeed {
  readonly #iterator: AsyncIterator<SourceItem>;
  #done = false;
  #pulling = false;
  /** Downloads (and their pre-admission) under way. */
  #loads = 0;
  #nextId = 0;

  constructor(
    source: ImageSource,
    private readonly pool: WorkerPool,
    private readonly accounting: RunAccounting,
    private readonly admission: Admission,
    private readonly hooks: FeedHooks,
  ) {
    this.#iterator = source.items()[Symbol.asyncIterator]();
  }

  get done(): boolean {
    return this.#done;
  }

  busy(): boolean {
    return this.#pulling || this.#loads > 0;
  }

  pull(): void {
    if (this.#pulling || this.#done || this.hooks.full()) return;
    const idle = this.pool.idle();
    if (!idle) return;
    this.#pulling = true;
    idle.id = -1; // reserved while the source produces the item
    this.#iterator.next().then(
      (r) => {
        this.#pulling = false;
        idle.id = undefined;
        if (r.done) this.#done = true;
        else {
          this.#assign(idle, r.value);
          this.pull();
        }
        this.hooks.wake();
      },
      (err) => {
        this.#pulling = false;
        idle.id = undefined;
        this.hooks.fail(err);
      },
    );
  }

  async close(): Promise<void> {
    await this.#iterator.return?.().catch(() => {});
  }

  #assign(w: PoolWorker, item: SourceItem): void {
    const id = this.#nextId++;
    w.id = id;
    this.accounting.seen++;
    if (item.kind === 'unreadable') {
      this.accounting.exclude('unreadable-file');
      this.#settled(w);
    } else if (item.kind === 'file') this.pool.post(w, { t: 'item', id, path: item.path });
    else {
      this.#loads++;
      const load = () => item.load();
      const loaded = item.sopInstanceUid
        ? this.#preadmitted(w, id, item.sopInstanceUid, load)
        : this.#download(w, id, load);
      void loaded.catch(this.hooks.fail).finally(() => {
        this.#loads--;
        this.hooks.wake();
      });
    }
  }

  async #preadmitted(w: PoolWorker, id: number, sop: string, load: () => Promise<Uint8Array>): Promise<void> {
    const decision = await this.admission.preadmit(id, sop);
    if (decision === 'download') return this.#download(w, id, load);
    if (decision === 'duplicate') this.pool.post(w, { t: 'skip', id });
    this.#settled(w);
  }

  async #download(w: PoolWorker, id: number, load: () => Promise<Uint8Array>): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await load();
    } catch {
      // The source could not deliver this item (its own retries are spent): counted, the run goes on.
      this.admission.forget(id);
      this.accounting.exclude('unreadable');
      this.pool.release(w);
      return;
    }
    this.pool.post(w, { t: 'item', id, bytes }, [bytes.buffer as ArrayBuffer]);
  }

  #settled(w: PoolWorker): void {
    this.pool.release(w);
    this.accounting.progress();
  }
}
