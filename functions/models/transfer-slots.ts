import { ApiError } from '../errors.ts';

/**
 * A limit on model transfers in flight (uploads, downloads), so that a burst of large transfers cannot take
 * the cloud's memory, sockets or disk bandwidth from everything else: one past the limit gets 503 with
 * Retry-After (on-error.ts) at once instead of waiting in a queue.
 */
export class TransferSlots {
  private inUse = 0;

  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {}

  /** A slot, released by calling the returned function (once; later calls do nothing), or 503 transfers-busy. */
  take(): () => void {
    if (this.inUse >= this.limit)
      throw new ApiError(
        503,
        'transfers-busy',
        `This cloud is serving ${this.limit} model ${this.what} at once: retry in a few seconds.`,
      );
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
    };
  }
}
