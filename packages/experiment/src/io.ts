/** Where the runner and the units it runs write their lines; the CLI passes the process's streams, tests their own. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}
