import { type Client, createClient } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';

/** A drizzle database over a libSQL client, with the schema `S` its caller gave it. */
export type LibsqlDatabase<S extends Record<string, unknown> = Record<string, unknown>> =
  LibSQLDatabase<S> & {
    $client: Client;
  };

/**
 * Opens a libSQL database (`file:…`, `:memory:`, or a libSQL URL) with the caller's drizzle schema and brings
 * it up to date with the migrations in `migrationsFolder`.
 *
 * The busy timeout is a client option on purpose: a PRAGMA busy_timeout would not survive the pool opening a
 * new connection, and without it a second process writing the same file gets SQLITE_BUSY at once.
 */
export async function openLibsqlDatabase<S extends Record<string, unknown>>(
  url: string,
  opts: { schema: S; migrationsFolder: string; authToken?: string },
): Promise<LibsqlDatabase<S>> {
  const client = createClient({
    url,
    timeout: 5000,
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
  });
  const db = drizzle({ client, schema: opts.schema });
  try {
    await migrateOnce(db, opts.migrationsFolder);
    if (isLocalFile(url)) {
      // WAL lets readers run beside one writer; the mode is stored in the file, so setting it once is enough.
      await client.execute('PRAGMA journal_mode=WAL');
    }
  } catch (err) {
    client.close();
    throw err;
  }
  return db;
}

/**
 * Two processes opening a fresh file together can both decide the schema is missing; the loser's CREATE TABLE
 * then fails. Reading the migration state again settles it.
 */
async function migrateOnce(db: LibsqlDatabase, migrationsFolder: string): Promise<void> {
  try {
    await migrate(db, { migrationsFolder });
  } catch (err) {
    if (!/already exists/.test(String((err as Error)?.message))) throw err;
    await migrate(db, { migrationsFolder });
  }
}

function isLocalFile(url: string): boolean {
  return url.startsWith('file:') && !url.includes(':memory:');
}
