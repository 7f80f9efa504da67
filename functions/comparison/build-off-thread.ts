import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ComparisonInput, comparisonText } from './comparison-input.ts';

const ENTRY = new URL('./comparison-worker-entry.mjs', import.meta.url);

/**
 * Builds comparisons on one worker thread, so that a big one (seconds at 200 sites × 50 versions) keeps no
 * other request waiting. Where the worker's files are not beside this module (the Lambda bundle) or the worker
 * fails to start, the comparison is built in-process instead: on Lambda an instance serves one request at a
 * time anyway.
 */
export function createComparisonBuilder() {
  let worker: Worker | null = null;
  let usable = ENTRY.protocol === 'file:' && existsSync(fileURLToPath(ENTRY));
  let nextId = 0;
  const pending = new Map<
    number,
    { input: ComparisonInput; resolve: (t: string) => void; reject: (e: Error) => void }
  >();

  function start(): Worker {
    const w = new Worker(ENTRY);
    w.unref();
    w.on('message', (m: { id: number; text?: string; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.text !== undefined) p?.resolve(m.text);
      else p?.reject(new Error(m.error ?? 'the comparison worker failed'));
    });
    // A worker that cannot start or dies: what it held is built here, and later ones too.
    const fail = () => {
      usable = false;
      worker = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        try {
          p.resolve(comparisonText(p.input));
        } catch (err) {
          p.reject(err as Error);
        }
      }
    };
    w.on('error', fail);
    w.on('exit', fail);
    return w;
  }

  return {
    /** False once the comparisons are built in-process (no worker files, or the worker failed). */
    onWorker: () => usable,
    build(input: ComparisonInput): Promise<string> {
      if (!usable) return Promise.resolve().then(() => comparisonText(input));
      worker ??= start();
      const id = nextId++;
      const w = worker;
      return new Promise((resolve, reject) => {
        pending.set(id, { input, resolve, reject });
        w.postMessage({ id, input });
      });
    },
  };
}
