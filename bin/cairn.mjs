#!/usr/bin/env node
// The CLI is TypeScript run through a small loader (bin/ts-hooks.mjs), so `npx cairn` needs no build step.
import { register } from 'node:module';

// Stack traces (printed with CAIRN_DEBUG only) then name the TypeScript lines; reading the maps costs time.
if (process.env.CAIRN_DEBUG) process.setSourceMapsEnabled(true);
register('./ts-hooks.mjs', import.meta.url);
await import('../cli/main.ts');
