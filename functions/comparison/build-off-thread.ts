import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createCheckedRows } from './checked-rows.ts';
import { type ComparisonInput, type ComparisonRequest, comparisonText } from './comparison-input.ts';
import type { WorkerMessage } from './comparison-worker.ts';
import { createPoolMemo } from './pool-memo.ts';
import type { StoredReportRow } from './stored-report.ts';

const ENTRY = new URL('./comparison-worker-entry.mjs', import.meta.url);

/** A comparison being built: its rows handed over page by page as they are read, then the text. */
export interface ComparisonStream {
  add(rows: StoredReportRow[]): void;
  finish(): Promise<string>;
  /** Gives up on it (its rows could not all be read). */
  drop(): void;
}

interface Pending {
  input: ComparisonInput;
  resolve: (t: string) => void;
  reject: (e: Error) => void;
}

/**
 * Builds comparisons on one worker thread, so that a big one keeps no other request waiting: the rows go to
 * it a page at a time as they are read (each page a short copy on the event loop, and the worker checks one
 * page while the next is read), and it keeps the rows it has checked (checked-rows.ts). Where the worker's
 * files are not beside this module (the Lambda bundle) or the worker fails to start, the comparison is built
 * in-process instead: on Lambda an instance serves one request at a time anyway.
 */
export function createComparisonBuilder() {
  let worker: Worker | null = null;
  let usable = ENTRY.protocol === 'file:' && existsSync(fileURLToPath(ENTRY));
  let nextId = 0;
  const pending = new Map<number, Pending>();
  const checks = createCheckedRows();
  const memo = createPoolMemo();
  const inProcess = (input: ComparisonInput) =>
    Promise.resolve().then(() => comparisonText(input, checks, memo));

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
        inProcess(p.input).then(p.resolve, p.reject);
      }
    };
    w.on('error', fail);
    w.on('exit', fail);
    return w;
  }

  function open(request: ComparisonRequest): ComparisonStream {
    // Kept here too, for building in-process should the worker fail before it answers.
    const rows: StoredReportRow[] = [];
    if (!usable)
      return { add: (page) => rows.push(...page), finish: () => inProcess({ ...request, rows }), drop() {} };
    worker ??= start();
    const w = worker;
    const id = nextId++;
    const post = (m: WorkerMessage) => {
      if (worker === w) w.postMessage(m);
    };
    post({ id, kind: 'open', request });
    return {
      add(page) {
        for (const row of page) rows.push(row);
        post({ id, kind: 'rows', rows: page });
      },
      finish() {
        if (worker !== w) return inProcess({ ...request, rows });
        return new Promise((resolve, reject) => {
          pending.set(id, { input: { ...request, rows }, resolve, reject });
          w.postMessage({ id, kind: 'build' } satisfies WorkerMessage);
        });
      },
      drop: () => post({ id, kind: 'drop' }),
    };
  }

  return {
    /** False once the comparisons are built in-process (no worker files, or the worker failed). */
    onWorker: () => usable,
    open,
    build(input: ComparisonInput): Promise<string> {
      const { rows, ...request } = input;
      const stream = open(request);
      stream.add(rows);
      return stream.finish();
    },
  };
}
