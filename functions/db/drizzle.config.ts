import { defineConfig } from 'drizzle-kit';

// 'sqlite' produces SQL that both a local libSQL file and a Turso database accept.
export default defineConfig({
  dialect: 'sqlite',
  schema: './functions/db/schema.ts',
  out: './functions/db/migrations',
});
