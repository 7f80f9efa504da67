import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { type AuditDeps, type AuditEvent, commitAudited } from '../audit/append.ts';

/**
 * Inserts one row with the audit entry that records it, in one transaction. An id already taken inserts
 * nothing and records nothing: the answer is undefined, for the route to refuse with its own 409.
 */
export async function insertAudited<T extends SQLiteTable>(
  deps: AuditDeps,
  table: T,
  values: T['$inferInsert'],
  event: AuditEvent,
): Promise<T['$inferSelect'] | undefined> {
  const {
    results: [rows],
  } = await commitAudited(
    deps,
    () => [deps.db.insert(table).values(values).onConflictDoNothing().returning()] as const,
    event,
  );
  return (rows as T['$inferSelect'][])[0];
}

/** A registry entry (a region, a vendor) as the API shows it. */
export function namedEntryView(e: { id: string; name: string; createdAt: Date }) {
  return { id: e.id, name: e.name, createdAt: e.createdAt.toISOString() };
}
