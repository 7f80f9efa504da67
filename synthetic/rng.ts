/**
 * Seeded pseudo-random numbers for synthetic data. Everything generated for the demo and the tests must be
 * reproducible from a seed, so nothing here touches Math.random.
 */

/** splitmix32 finaliser: spreads a 32-bit input over all output bits, used to turn (seed, label) into a state. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a, so string labels can derive independent sub-streams. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private state: number;
  /** The state at construction: forks derive from it, so they do not depend on how many draws came before. */
  private origin: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    // Seeds are often small consecutive integers; mixing keeps neighbouring seeds uncorrelated.
    this.state = mix32(Math.floor(seed) >>> 0) ^ mix32((seed / 4294967296) >>> 0);
    this.origin = this.state;
  }

  /** mulberry32 step: 32 bits of state, good enough statistically for image noise and sampling. */
  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Normal with the given mean and standard deviation (Box–Muller; the second value is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    let u = this.uniform();
    while (u <= 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [lo, hi], both ends inclusive. */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`int(${lo}, ${hi}): empty range`);
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[Math.floor(this.uniform() * items.length)] as T;
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * An independent stream named by a label, derived from this stream's seed (not its position), so that adding a
   * draw in one part of a generator does not shift every value drawn elsewhere.
   */
  fork(label: string | number): Rng {
    const key =
      typeof label === 'number' ? mix32(label >>> 0) ^ mix32((label / 4294967296) >>> 0) : hashString(label);
    const child = new Rng(0);
    child.state = mix32(this.origin ^ mix32(key));
    child.origin = child.state;
    return child;
  }
}

export function createRng(seed: number): Rng {
  return new Rng(seed);
}
