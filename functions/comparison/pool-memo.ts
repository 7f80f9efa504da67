/**
 * Pools kept from one comparison to the next. A group's pools are a pure function of its reports in order
 * (with the site each is listed under) and the options; checked-rows.ts hands out the same report object for
 * a row as long as its stored text and the rules stay, so a rebuild after one new report or void pools again
 * only the groups that report is in. Objects are told apart by identity (a report parsed anew is another
 * group); bounded, the least recently used go first.
 */
export function createPoolMemo(capacity = 4096) {
  const ids = new WeakMap<object, number>();
  let next = 0;
  const entries = new Map<string, unknown>();
  const idOf = (o: object) => {
    let id = ids.get(o);
    if (id === undefined) {
      id = next++;
      ids.set(o, id);
    }
    return id;
  };
  return {
    pooled<T>(options: string, group: readonly { siteId: string; report: object }[], build: () => T): T {
      let key = options;
      for (const r of group) key += `\u0000${r.siteId}\u0000${idOf(r.report)}`;
      const hit = entries.get(key);
      entries.delete(key);
      const value = hit === undefined ? build() : (hit as T);
      entries.set(key, value);
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
      return value;
    },
  };
}

export type PoolMemo = ReturnType<typeof createPoolMemo>;
