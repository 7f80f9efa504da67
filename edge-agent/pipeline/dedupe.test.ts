import { describe, expect, it } from 'vitest';
import { ClaimSet, type UidSpill } from './dedupe.ts';

const uidOf = (i: number) => `1.2.826.0.1.3680043.10.${i}.${(i * 2654435761) >>> 0}`;

describe('ClaimSet (bounded, exact duplicate detection)', () => {
  it('keeps memory capped over 200,000 UIDs and stays exact through the disk set', async () => {
    const claims = new ClaimSet({ windowSize: 10_000, spillBatch: 1024, bloomBits: 2 ** 22 });
    let maxWindow = 0;
    let maxPending = 0;
    for (let i = 0; i < 200_000; i++) {
      const r = claims.claim(uidOf(i));
      expect(await r).toBe(true);
      if (i % 1000 === 0) {
        const s = claims.stats();
        maxWindow = Math.max(maxWindow, s.window);
        maxPending = Math.max(maxPending, s.pendingSpill);
      }
    }
    const s = claims.stats();
    expect(s.window).toBe(10_000);
    expect(maxWindow).toBeLessThanOrEqual(10_000);
    expect(maxPending).toBeLessThanOrEqual(2 * 1024);
    expect(s.bloomBytes).toBe(2 ** 22 / 8);
    // Old UIDs (long evicted to disk), recent ones (window) and in-between ones are all duplicates …
    for (const i of [0, 1, 17, 5_000, 100_000, 189_000, 199_999])
      expect(await claims.claim(uidOf(i))).toBe(false);
    // … and new ones are not, even where the Bloom filter says "maybe".
    let fresh = 0;
    for (let i = 200_000; i < 201_000; i++) if (await claims.claim(uidOf(i))) fresh++;
    expect(fresh).toBe(1000);
    await claims.close();
    expect(claims.stats().spilled).toBeGreaterThan(180_000);
  }, 60_000);

  it('answers from memory without touching the disk while the run is short', async () => {
    let opened = 0;
    const spill = async (): Promise<UidSpill> => {
      opened++;
      return { addMany: async () => {}, has: async () => false, close: async () => {} };
    };
    const claims = new ClaimSet({ windowSize: 100, spill });
    expect(claims.claim('1.2.3')).toBe(true);
    expect(claims.claim('1.2.3')).toBe(false);
    expect(claims.claim('1.2.4')).toBe(true);
    await claims.close();
    expect(opened).toBe(0);
  });

  it('finds a duplicate whose first copy is still waiting to be written', async () => {
    const stored = new Set<string>();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const spill = async (): Promise<UidSpill> => ({
      addMany: async (uids) => {
        await gate;
        for (const u of uids) stored.add(u);
      },
      has: async (u) => stored.has(u),
      close: async () => {},
    });
    const claims = new ClaimSet({ windowSize: 2, spillBatch: 2, spill });
    for (const u of ['a', 'b', 'c', 'd', 'e']) expect(claims.claim(u)).toBe(true);
    expect(claims.claim('a')).toBe(false); // in the batch being written
    expect(claims.claim('c')).toBe(false); // evicted, not yet in a batch
    release();
    await claims.close();
    expect(stored.has('a')).toBe(true);
    expect(await claims.claim('a')).toBe(false);
  });
});
