import { parentPort } from 'node:worker_threads';
import { createCheckedRows } from './checked-rows.ts';
import { type ComparisonRequest, comparisonAssembly } from './comparison-input.ts';
import { createPoolMemo } from './pool-memo.ts';
import type { StoredReportRow } from './stored-report.ts';

/** What build-off-thread.ts sends: a comparison opened, its rows page by page, then built (or dropped). */
export type WorkerMessage =
  | { id: number; kind: 'open'; request: ComparisonRequest }
  | { id: number; kind: 'rows'; rows: StoredReportRow[] }
  | { id: number; kind: 'build' }
  | { id: number; kind: 'drop' };

/** The worker thread's side of build-off-thread.ts: each comparison answered by id, with its text or an error. */
const port = parentPort;
if (!port) throw new Error('comparison-worker.ts runs as a worker thread');
const checks = createCheckedRows();
const memo = createPoolMemo();
const open = new Map<number, ReturnType<typeof comparisonAssembly>>();
port.on('message', (m: WorkerMessage) => {
  try {
    if (m.kind === 'open') open.set(m.id, comparisonAssembly(m.request, checks, memo));
    else if (m.kind === 'rows') open.get(m.id)?.add(m.rows);
    else {
      const assembly = open.get(m.id);
      open.delete(m.id);
      if (m.kind === 'build') {
        if (!assembly) throw new Error(`comparison ${m.id} was not opened`);
        port.postMessage({ id: m.id, text: assembly.text() });
      }
    }
  } catch (err) {
    open.delete(m.id);
    port.postMessage({ id: m.id, error: (err as Error).message });
  }
});
