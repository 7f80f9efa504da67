/**
 * An error a user can cause (a bad setting, a refused request, an unreachable cloud): the CLI prints it as one
 * line with `exitCode` (1, or 2 for usage errors). No stack, no PHI. The libraries throw it; only the app prints.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
