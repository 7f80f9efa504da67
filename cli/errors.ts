/** An error a user can cause: printed as one line, exit code 1 (2 for usage errors). No stack, no PHI. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
