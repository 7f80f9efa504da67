// The app's name for the libraries' user error: what `cli/main.ts` prints as one line.
export { UserError as CliError } from '../client/errors.ts';
