import { colourWanted, type Paint, painter } from './style.js';

/** Where a command writes: injectable, so `main()` can run inside another program. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface OutputFlags {
  /** One JSON document on stdout, nothing else there. */
  json: boolean;
  /** Narration on stderr, stack traces with errors. */
  verbose: boolean;
  /** false with --no-color. */
  color: boolean;
}

/**
 * The two streams of a command, with colour decided per stream. Results go to stdout (a table, or
 * one JSON document with --json); progress, narration and errors go to stderr.
 */
export class Terminal {
  readonly io: Io;
  readonly json: boolean;
  readonly verbose: boolean;
  /** Colour on stdout (a terminal, no NO_COLOR, no --json, no --no-color; or FORCE_COLOR). */
  readonly colour: boolean;
  readonly paint: Paint;
  readonly paintErr: Paint;
  /** Progress bars and colour on stderr are for a person watching. */
  readonly stderrIsTTY: boolean;

  constructor(io: Io, flags: OutputFlags) {
    this.io = io;
    this.json = flags.json;
    this.verbose = flags.verbose;
    this.colour = !flags.json && colourWanted(io.stdout, io.env, flags.color);
    this.paint = painter(this.colour);
    this.paintErr = painter(colourWanted(io.stderr, io.env, flags.color));
    this.stderrIsTTY = io.stderr.isTTY === true;
  }

  /** A line of the human report (stdout); dropped with --json, whose document is the report. */
  line(text = ''): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  lines(texts: readonly string[]): void {
    for (const text of texts) this.line(text);
  }

  /** A line for the person running the command (stderr), kept out of --json's stdout. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  /** The --json document. */
  document(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Written with or without --json: errors, and narration under --verbose. */
  error(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}
