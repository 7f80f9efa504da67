/**
 * Where the agent's images come from. A source yields items one at a time (it never lists a whole archive
 * into memory) and may estimate how many it will yield, for the ETA.
 *
 * An item is either a file path (a worker thread reads it) or bytes fetched on demand. `load` failures are
 * accounted as 'unreadable'; their messages (which may name hosts or paths) stay inside the pipeline.
 */
export type SourceItem = { kind: 'file'; path: string } | { kind: 'fetch'; load(): Promise<Uint8Array> };

export interface ImageSource {
  items(signal?: AbortSignal): AsyncIterable<SourceItem>;
  /** How many items `items()` will yield, if it can be known cheaply; resolves late, never blocks the run. */
  estimate?(): Promise<number | undefined>;
}
