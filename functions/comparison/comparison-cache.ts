/**
 * The last few comparisons built, each under a key that names the campaign, what the caller may see, the
 * contrasts asked for and the state of the campaign's reports (their count, the newest receipt, how many are
 * voided and the newest void): a report stored or voided changes that state, so the next call builds anew.
 * Kept as the JSON text sent (a 200-site × 50-version comparison is megabytes to serialise again). Small and
 * in-process: on Lambda each instance keeps its own.
 */
export function createComparisonCache(capacity = 16) {
  const entries = new Map<string, string>();
  return {
    get(key: string): string | undefined {
      const hit = entries.get(key);
      if (hit === undefined) return undefined;
      // Most recently used last, so the oldest goes first.
      entries.delete(key);
      entries.set(key, hit);
      return hit;
    },
    set(key: string, value: string): void {
      entries.delete(key);
      entries.set(key, value);
      while (entries.size > capacity) entries.delete(entries.keys().next().value as string);
    },
  };
}
