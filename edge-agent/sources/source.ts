/**
 * Where the agent's images come from. A source yields items one at a time (it never lists a whole archive
 * into memory) and may estimate how many it will yield, for the ETA.
 *
 * An item is a file path (a worker thread reads it), bytes fetched on demand, or an entry known to be
 * unreadable ('unreadable-file'). `load` failures are accounted as 'unreadable'; their messages (which may name hosts or paths) stay inside the pipeline.
 */
export type SourceItem =
  | { kind: 'file'; path: string }
  /** Something in the source that cannot be read at all (permissions, a dangling link): counted, not read. */
  | { kind: 'unreadable' }
  | {
      kind: 'fetch';
      load(): Promise<Uint8Array>;
      /**
       * The instance's SOP Instance UID as the source listed it (QIDO-RS), when known: lets the pipeline
       * settle duplicates and cached instances before downloading. The header read after the download wins.
       */
      sopInstanceUid?: string;
    };

export interface ImageSource {
  items(signal?: AbortSignal): AsyncIterable<SourceItem>;
  /** How many items `items()` will yield, if it can be known cheaply; resolves late, never blocks the run. */
  estimate?(): Promise<number | undefined>;
}
