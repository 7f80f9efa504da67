import { walkEntries } from '../dicom/scan.ts';
import type { ImageSource, SourceItem } from './source.ts';

/**
 * Every file under `root`, recursively (see walkEntries for order, links and loops); entries that cannot be
 * read are yielded as 'unreadable' items, so the run counts them instead of losing them.
 */
export function folderSource(root: string): ImageSource {
  return {
    async *items(signal?: AbortSignal): AsyncGenerator<SourceItem> {
      for await (const entry of walkEntries(root)) {
        if (signal?.aborted) return;
        yield entry.unreadable ? { kind: 'unreadable' } : { kind: 'file', path: entry.path };
      }
    },
    async estimate() {
      let n = 0;
      for await (const _ of walkEntries(root)) n++;
      return n;
    },
  };
}
