import { walkFiles } from '../dicom/scan.ts';
import type { ImageSource, SourceItem } from './source.ts';

/** Every regular file under `root`, recursively (see walkFiles for order, links and loops). */
export function folderSource(root: string): ImageSource {
  return {
    async *items(signal?: AbortSignal): AsyncGenerator<SourceItem> {
      for await (const path of walkFiles(root)) {
        if (signal?.aborted) return;
        yield { kind: 'file', path };
      }
    },
    async estimate() {
      let n = 0;
      for await (const _ of walkFiles(root)) n++;
      return n;
    },
  };
}
