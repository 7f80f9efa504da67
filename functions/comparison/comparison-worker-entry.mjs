// Worker threads start without the TypeScript loader the CLI registered; register it here (resolved relative
// to this file, so it works from any working directory), then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./comparison-worker.ts');
