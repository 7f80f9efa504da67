#!/usr/bin/env node
// The CLI is TypeScript run through a small loader (bin/ts-hooks.mjs), so `npx cairn` needs no build step.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
await import('../cli/main.ts');
