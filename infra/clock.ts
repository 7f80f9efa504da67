/** Where "now" comes from: injected so tests can move time (token expiry, envelope skew, queue visibility). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests set by hand. */
export function fixedClock(start: Date): Clock & { set(d: Date): void; advance(ms: number): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set(d) {
      current = new Date(d);
    },
    advance(ms) {
      current = new Date(current.getTime() + ms);
    },
  };
}
