import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import * as schema from '../functions/db/schema.ts';

export type Database = LibSQLDatabase<typeof schema> & { $client: Client };

/**
 * drizzle-kit's migrations, where they lie in the source tree. A bundle (the Lambda functions) does not carry
 * them at this path: sst.config.ts copies them into the function's package and names the folder in
 * CAIRN_MIGRATIONS_DIR, which functions/deps-from-env.ts passes here as `migrationsFolder`.
 */
const SOURCE_MIGRATIONS = fileURLToPath(new URL('../functions/db/migrations', import.meta.url));

/**
 * Opens the cloud database (`file:…`, `:memory:`, or a libSQL URL) and brings its schema up to date with the
 * migrations in `migrationsFolder` (default: the source tree's).
 *
 * The busy timeout is a client option on purpose: a PRAGMA busy_timeout would not survive the pool opening a
 * new connection, and without it a second process writing the same file gets SQLITE_BUSY at once.
 */
export async function openDatabase(
  url: string,
  opts: { authToken?: string; migrationsFolder?: string } = {},
): Promise<Database> {
  const client = createClient({
    url,
    timeout: 5000,
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
  });
  const db = drizzle({ client, schema });
  try {
    await migrateOnce(db, opts.migrationsFolder ?? SOURCE_MIGRATIONS);
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
async function migrateOnce(db: Database, migrationsFolder: string): Promise<void> {
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
