import { describe, expect, it } from 'vitest';
import { createRng, Rng } from './rng.ts';

describe('Rng', () => {
  it('repeats for a seed and differs between neighbouring seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xa = Array.from({ length: 20 }, () => a.uint32());
    expect(Array.from({ length: 20 }, () => b.uint32())).toEqual(xa);
    expect(Array.from({ length: 20 }, () => c.uint32())).not.toEqual(xa);
  });

  it('has plausible moments and ranges', () => {
    const r = new Rng(42);
    const n = 20_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      su += u;
      const z = r.normal(3, 2);
      sn += z;
      sn2 += z * z;
      const k = r.int(-2, 2);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(su / n).toBeCloseTo(0.5, 1);
    const mean = sn / n;
    expect(mean).toBeCloseTo(3, 1);
    expect(Math.sqrt(sn2 / n - mean * mean)).toBeCloseTo(2, 1);
    expect([...counts.keys()].sort()).toEqual([-1, -2, 0, 1, 2]);
    for (const c of counts.values()) expect(c / n).toBeGreaterThan(0.18);
    expect(['a', 'b', 'c']).toContain(r.pick(['a', 'b', 'c']));
  });

  it('forks streams that depend on the label and the seed, not on earlier draws', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    b.uniform();
    expect(a.fork('x').uint32()).toBe(b.fork('x').uint32());
    expect(a.fork('x').uint32()).not.toBe(a.fork('y').uint32());
    expect(a.fork(3).uint32()).not.toBe(new Rng(2).fork(3).uint32());
  });
});
