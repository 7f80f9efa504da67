import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Which SOP Instance UIDs a run has already claimed — exact, in bounded memory, for runs of any length.
 *
 * Why this design (the choices considered):
 * - A plain Set of every UID grows with the run: a 100,000-study CT run is tens of millions of instances, i.e.
 *   gigabytes of strings.
 * - A per-study window (forget a study once its files have passed) is bounded and exact when an archive
 *   delivers each study's files together — folders and DICOMweb do — but a real archive also holds copies
 *   of the same instance far apart (a re-export, a second import folder), which it would miss.
 * - The prediction cache cannot answer "claimed in this run": it also holds instances scored by earlier runs,
 *   which must be cache hits, not duplicates. (And there may be no cache at all: `agent score`, the bench.)
 * - A Bloom filter alone is bounded but inexact: a false positive would exclude a good image.
 *
 * So: the most recent `windowSize` UIDs in an exact in-memory set (duplicates inside a study or a series
 * — the common case — are answered there, synchronously); older UIDs move to a run-private, disk-backed
 * exact set (a temporary SQLite file, deleted at the end of the run, not the agent's database, whose schema
 * this does not touch) in batches of `spillBatch`, and into a fixed-size Bloom filter. A UID that is not in
 * the window is new unless the Bloom filter says "maybe"; only then is the disk set asked (async). Memory is
 * the window + one spill batch + the filter's bits (`bloomBits` / 8 bytes), whatever the run length; the
 * answer is always exact. PHI: UIDs stay on the site, in a 0600-by-umask temporary file removed on close.
 */

export interface ClaimStats {
  window: number;
  /** UIDs waiting to be written to the disk set. */
  pendingSpill: number;
  spilled: number;
  bloomBytes: number;
  /** Bloom "maybe" answers that needed the disk set. */
  diskChecks: number;
}

/** The disk-backed exact set; injectable for tests. */
export interface UidSpill {
  addMany(uids: string[]): Promise<void>;
  has(uid: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface ClaimSetOptions {
  windowSize?: number;
  spillBatch?: number;
  /** Bits in the Bloom filter (rounded up to a multiple of 32); default 2^26 (8 MiB). */
  bloomBits?: number;
  spill?: () => Promise<UidSpill>;
}

const MAX_IN_FLIGHT = 2;

export class ClaimSet {
  readonly #window = new Set<string>();
  readonly #windowSize: number;
  readonly #spillBatch: number;
  readonly #bloom: Uint32Array;
  readonly #bits: number;
  readonly #makeSpill: () => Promise<UidSpill>;
  #spill: Promise<UidSpill> | undefined;
  /** Evicted from the window, not yet on disk (written in order; each batch stays here until written). */
  #pending = new Set<string>();
  /** Batches handed to the disk set and not yet written. */
  #inFlight: Set<string>[] = [];
  #flush: Promise<void> = Promise.resolve();
  #spilled = 0;
  #diskChecks = 0;

  constructor(opts: ClaimSetOptions = {}) {
    this.#windowSize = Math.max(1, opts.windowSize ?? 100_000);
    this.#spillBatch = Math.max(1, opts.spillBatch ?? 4096);
    const words = Math.ceil((opts.bloomBits ?? 2 ** 26) / 32);
    this.#bloom = new Uint32Array(words);
    this.#bits = words * 32;
    this.#makeSpill = opts.spill ?? sqliteSpill;
  }

  /**
   * Claims `uid` for this run: true when it was not claimed before (the caller owns it now), false for a
   * duplicate. Synchronous whenever the answer needs no disk look-up.
   */
  claim(uid: string): boolean | Promise<boolean> {
    if (this.#held(uid)) return false;
    const maybe = this.#bloomMaybe(uid);
    // Back-pressure on the spill: with MAX_IN_FLIGHT batches still being written, wait for the disk.
    if (!maybe && this.#inFlight.length < MAX_IN_FLIGHT) {
      this.#admit(uid);
      return true;
    }
    if (maybe) this.#diskChecks++;
    return (async () => {
      await this.#flush;
      if (this.#held(uid)) return false;
      if (maybe && (await (await this.#getSpill()).has(uid))) return false;
      // A concurrent claim of the same UID may have admitted it while we were reading the disk.
      if (this.#held(uid)) return false;
      this.#admit(uid);
      return true;
    })();
  }

  stats(): ClaimStats {
    return {
      window: this.#window.size,
      pendingSpill: this.#pending.size + this.#inFlight.reduce((n, b) => n + b.size, 0),
      spilled: this.#spilled,
      bloomBytes: this.#bloom.byteLength,
      diskChecks: this.#diskChecks,
    };
  }

  /** Waits for spill writes (errors surface here) and removes the disk set. */
  async close(): Promise<void> {
    try {
      await this.#flush;
    } finally {
      if (this.#spill) await (await this.#spill).close();
    }
  }

  /** In memory: the window, or evicted and not yet on disk. */
  #held(uid: string): boolean {
    return this.#window.has(uid) || this.#pending.has(uid) || this.#inFlight.some((b) => b.has(uid));
  }

  #admit(uid: string): void {
    this.#window.add(uid);
    if (this.#window.size <= this.#windowSize) return;
    const oldest = this.#window.values().next().value!;
    this.#window.delete(oldest);
    this.#bloomAdd(oldest);
    this.#pending.add(oldest);
    if (this.#pending.size >= this.#spillBatch) this.#startFlush();
  }

  #startFlush(): void {
    const batch = this.#pending;
    this.#pending = new Set();
    this.#inFlight.push(batch);
    this.#flush = this.#flush.then(async () => {
      const spill = await this.#getSpill();
      await spill.addMany([...batch]);
      this.#spilled += batch.size;
      this.#inFlight.splice(this.#inFlight.indexOf(batch), 1);
    });
  }

  #getSpill(): Promise<UidSpill> {
    this.#spill ??= this.#makeSpill();
    return this.#spill;
  }

  // Two FNV-1a variants → k = 7 probes by double hashing (Kirsch–Mitzenmacher).
  #hashes(uid: string): [number, number] {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ uid.length;
    for (let i = 0; i < uid.length; i++) {
      const c = uid.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    return [h1 >>> 0, (h2 | 1) >>> 0];
  }

  #bloomAdd(uid: string): void {
    const [a, b] = this.#hashes(uid);
    for (let i = 0; i < 7; i++) {
      const bit = (a + i * b) % this.#bits;
      this.#bloom[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  #bloomMaybe(uid: string): boolean {
    if (this.#spilled === 0 && this.#inFlight.length === 0 && this.#pending.size === 0) return false;
    const [a, b] = this.#hashes(uid);
    for (let i = 0; i < 7; i++) {
      const bit = (a + i * b) % this.#bits;
      if ((this.#bloom[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** A temporary SQLite file holding one column of UIDs (primary key), deleted on close. */
export async function sqliteSpill(): Promise<UidSpill> {
  // Loaded only when a run outgrows the window (keeps the native module out of short runs and bundles).
  const { createClient } = await import('@libsql/client');
  const dir = await mkdtemp(join(tmpdir(), 'cairn-claims-'));
  const client = createClient({ url: `file:${join(dir, 'claims.db')}` });
  await client.execute('PRAGMA journal_mode = OFF');
  await client.execute('PRAGMA synchronous = OFF');
  await client.execute('CREATE TABLE claimed (uid TEXT PRIMARY KEY) WITHOUT ROWID');
  return {
    async addMany(uids) {
      await client.batch(
        uids.map((uid) => ({ sql: 'INSERT OR IGNORE INTO claimed (uid) VALUES (?)', args: [uid] })),
        'write',
      );
    },
    async has(uid) {
      const r = await client.execute({ sql: 'SELECT 1 FROM claimed WHERE uid = ?', args: [uid] });
      return r.rows.length > 0;
    },
    async close() {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
