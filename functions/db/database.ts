import { fileURLToPath } from 'node:url';
import { type LibsqlDatabase, openLibsqlDatabase } from '../../infra/database.ts';
import * as schema from './schema.ts';

/** The cloud's database: its drizzle schema over libSQL. */
export type Database = LibsqlDatabase<typeof schema>;

/**
 * drizzle-kit's migrations, where they lie in the source tree. A bundle (the Lambda functions) does not carry
 * them at this path: sst.config.ts copies them into the function's package and names the folder in
 * CAIRN_MIGRATIONS_DIR, which functions/deps-from-env.ts passes here as `migrationsFolder`.
 */
const SOURCE_MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

/** Opens the cloud database and brings it up to date with its migrations (by default the source tree's). */
export function openDatabase(
  url: string,
  opts: { authToken?: string; migrationsFolder?: string } = {},
): Promise<Database> {
  return openLibsqlDatabase(url, {
    schema,
    migrationsFolder: opts.migrationsFolder ?? SOURCE_MIGRATIONS,
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
  });
}
