/**
 * A mistake in what was asked, as opposed to a failure while running: an unknown backbone or dataset id, a
 * checkpoint missing or given where none is taken, an option a provider does not know. Hosts show it as a
 * usage error (the CLI: one line and exit code 2). The message names the id, option or file, and what exists.
 */
export class ExperimentRequestError extends Error {
  override readonly name: string = 'ExperimentRequestError';
}
