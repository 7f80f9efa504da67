import { parentPort } from 'node:worker_threads';
import { type ComparisonInput, comparisonText } from './comparison-input.ts';

/** The worker thread's side of build-off-thread.ts: one comparison per message, answered by id. */
const port = parentPort;
if (!port) throw new Error('comparison-worker.ts runs as a worker thread');
port.on('message', (m: { id: number; input: ComparisonInput }) => {
  try {
    port.postMessage({ id: m.id, text: comparisonText(m.input) });
  } catch (err) {
    port.postMessage({ id: m.id, error: (err as Error).message });
  }
});
