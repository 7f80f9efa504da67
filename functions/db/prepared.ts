import type { Database } from './database.ts';

/**
 * A query built once per database and run many times with placeholders (drizzle's `.prepare()`): building the
 * SQL of a query is a good part of a request's CPU time on the report path, and its text never changes.
 */
export function preparedPerDatabase<T>(build: (db: Database) => T): (db: Database) => T {
  const built = new WeakMap<Database, T>();
  return (db) => {
    let query = built.get(db);
    if (query === undefined) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
}
