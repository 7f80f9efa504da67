import { createRequire } from 'node:module';

export const CLOUD_VERSION: string = createRequire(import.meta.url)('../package.json').version;
