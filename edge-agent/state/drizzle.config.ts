import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'turso',
  schema: './edge-agent/state/schema.ts',
  out: './edge-agent/state/migrations',
});
