const MAX_LINES = 20;
const MAX_LINE_CHARS = 500;

/**
 * What went wrong inside a run, in the runtime's or a worker's own words, for the site's IT (the agent writes
 * it to the local diagnostic log; it never leaves the site). The items it concerns are already counted with
 * their reason; these lines only say why. Bounded: a model that fails every batch says so a few times, not
 * once per batch.
 */
export class RunDiagnostics {
  readonly lines: string[] = [];
  #dropped = 0;

  note(where: string, err: unknown): void {
    if (this.lines.length >= MAX_LINES) {
      this.#dropped++;
      return;
    }
    const text = err instanceof Error ? err.message : String(err);
    this.lines.push(`${where}: ${text.replace(/\s+/g, ' ').slice(0, MAX_LINE_CHARS)}`);
  }

  all(): string[] {
    return this.#dropped ? [...this.lines, `… and ${this.#dropped} more`] : [...this.lines];
  }
}
