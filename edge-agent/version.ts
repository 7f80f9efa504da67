import { createRequire } from 'node:module';

export const AGENT_VERSION: string = createRequire(import.meta.url)('../package.json').version;
