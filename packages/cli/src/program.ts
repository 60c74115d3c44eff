import { containsSecret, redactSecrets } from '@vramseal/narration-core';
import { WORKER_ID_PATTERN } from '@vramseal/vram-manager';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  auditKeygenCommand,
  auditPublicKeyCommand,
  auditTailCommand,
  auditVerifyCommand,
} from './commands/audit.js';
import { demoCommand } from './commands/demo.js';
import { devicesCommand } from './commands/devices.js';
import { sealCommand } from './commands/seal.js';
import { VERSION } from './commands/shared.js';
import { verifyCommand } from './commands/verify.js';
import { CliError, codeOf, EXIT_CODES, exitCodeOf, messageOf } from './errors.js';
import { TOKEN_ENV } from './key/worker-key.js';
import { type BackendChoice, defaultWorkerId } from './session/session.js';
import { type Io, Terminal } from './terminal/terminal.js';

const processIo: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env };

function deviceArg(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (!/^\d{1,6}$/.test(value))
    throw new InvalidArgumentError('give a device index (0, 1, ...) or auto.');
  return Number(value);
}

function countArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`give a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

const backendOption = () =>
  new Option(
    '--backend <kind>',
    'device backend (auto: cuda when a GPU answers, else the host-memory mock)',
  )
    .choices(['auto', 'cuda', 'mock'])
    .default('auto')
    .env('VRAMSEAL_BACKEND');
const deviceOption = () =>
  new Option('--device <n|auto>', 'device index, or auto: the one with the most free memory')
    .argParser(deviceArg)
    .default('auto' as const);
const keyFileOption = () =>
  new Option('--key-file <path>', `32-byte key file, mode 0600 (else the token in $${TOKEN_ENV})`);
const auditDirOption = () =>
  new Option('--audit-dir <dir>', 'append every step to the audit log in this directory');
const signingKeyOption = () =>
  new Option(
    '--signing-key <path>',
    'Ed25519 private key (PEM, mode 0600) that signs the audit checkpoints (`vramseal audit keygen`)',
  );
function workerIdArg(value: string): string {
  if (!WORKER_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      "give 1 to 256 characters of A-Z a-z 0-9 . _ : - (a host or pod name), or leave --worker-id out to use this host's name.",
    );
  }
  // The manager's own rule (narration's secret patterns), said here before anything is opened.
  if (containsSecret(value)) {
    throw new InvalidArgumentError(
      "it looks like a credential (a token or key), and it would be written into every audit record; give a host or pod name, or leave --worker-id out to use this host's name.",
    );
  }
  return value;
}

const workerIdOption = () =>
  new Option('--worker-id <id>', 'who this is in the audit log and narration')
    .argParser(workerIdArg)
    .default(defaultWorkerId(), 'this host name');

/** The full name of a command, for messages: `vramseal audit verify`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Runs the `vramseal` command line `argv` (without node and the script) and resolves to the exit
 * code: 0 ok, 1 mismatch (tampered), 2 error. Never throws, never calls process.exit.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let terminal: Terminal | undefined;
  let exitCode: number = EXIT_CODES.ok;
  const term = (cmd: Command): Terminal => {
    const flags = cmd.optsWithGlobals() as { json?: boolean; verbose?: boolean; color?: boolean };
    terminal = new Terminal(io, {
      json: flags.json === true,
      verbose: flags.verbose === true,
      color: flags.color !== false,
    });
    return terminal;
  };

  const program = new Command('vramseal');
  program
    .description('Seal model weights in GPU memory, verify them, and check the audit log.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--json', 'print one JSON document on stdout (progress and errors stay on stderr)')
    .option('--verbose', 'narrate every step on stderr; print stack traces with errors')
    .option('--no-color', 'no colour (also: NO_COLOR=1; FORCE_COLOR=1 forces it)')
    .helpOption('-h, --help', 'show help for a command')
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 mismatch (tampered bytes or log), 2 error (bad arguments, unreadable file,\nbad manifest, missing key, no device). The seal key comes from --key-file or $${TOKEN_ENV}.\nStart with: vramseal demo`,
    );
  const wire = (cmd: Command): Command => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (message, write) => {
        // Commander quotes the argument it refused: a token typed into the wrong flag stays hidden.
        const [first = '', ...more] = redactSecrets(message)
          .trim()
          .replace(/^error: /, '')
          .replace(' is invalid. ', ' is invalid: ')
          .split('\n');
        const hint = more.join(' ').trim();
        write(
          `vramseal: ${first.replace(/\.$/, '')}${hint ? ` ${hint}` : ''}; run \`${commandPath(cmd)} --help\` for the usage\n`,
        );
      },
    });
    return cmd;
  };
  wire(program);

  wire(program.command('devices'))
    .description(
      'show the backend and every device: memory, compute capability, UUID, VRAM-only verdict',
    )
    .addOption(backendOption())
    .action(async (options: { backend: BackendChoice }, cmd: Command) => {
      exitCode = await devicesCommand(term(cmd), options);
    });

  wire(program.command('seal'))
    .description(
      'seal weight files (a directory is one model: one shard per file) and write a manifest',
    )
    .argument('<path...>', 'weight files, or model directories')
    .addOption(backendOption())
    .addOption(deviceOption())
    .addOption(keyFileOption())
    .addOption(auditDirOption())
    .addOption(signingKeyOption())
    .option(
      '--expect-sha256 <hex>',
      "the file's published SHA-256: refuse to seal other bytes (one file)",
    )
    .option('--manifest <path>', 'where to write the manifest', 'vramseal-manifest.json')
    .option(
      '--model-ref <ref>',
      'model reference recorded in every seal (default: the file or directory name)',
    )
    .addOption(workerIdOption())
    .action(async (paths: string[], options, cmd: Command) => {
      exitCode = await sealCommand(term(cmd), paths, options);
    });

  wire(program.command('verify'))
    .description('load the files a manifest names, seal them again, and compare with the manifest')
    .argument('<manifest>', 'a manifest written by `vramseal seal`')
    .addOption(backendOption())
    .addOption(deviceOption())
    .addOption(keyFileOption())
    .addOption(auditDirOption())
    .addOption(signingKeyOption())
    .option('--deep', 'also re-hash the flat SHA-256 of device memory (slower)', false)
    .addOption(workerIdOption())
    .action(async (manifest: string, options, cmd: Command) => {
      exitCode = await verifyCommand(term(cmd), manifest, options);
    });

  const audit = wire(program.command('audit')).description(
    'the audit log tools: verify a log offline, read its newest records',
  );
  wire(audit.command('verify'))
    .description('verify an audit log: record chain, MACs, Merkle checkpoints, segment manifest')
    .argument('<dir>', 'the audit log directory')
    .option('--key-file <path>', `audit key material, mode 0600 (else $${TOKEN_ENV} when set)`)
    .option('--key-env <VAR>', 'derive the audit key from the token in this environment variable')
    .option('--public-key <path>', 'Ed25519 public key (SPKI PEM or 64 hex) that signs checkpoints')
    .option(
      '--checkpoint <path>',
      'a checkpoint kept outside the log (JSON); the log must contain it',
    )
    .action((dir: string, options, cmd: Command) => {
      exitCode = auditVerifyCommand(term(cmd), dir, options);
    });
  wire(audit.command('keygen'))
    .description(
      'make an Ed25519 key pair for signing audit checkpoints: the private key (mode 0600) and its public key',
    )
    .argument('<path>', 'where the private key goes (PKCS#8 PEM); never overwritten')
    .option('--public-key <path>', 'where the public key goes (SPKI PEM; default <path>.pub)')
    .action((file: string, options: { publicKey?: string }, cmd: Command) => {
      exitCode = auditKeygenCommand(term(cmd), file, options);
    });
  wire(audit.command('public-key'))
    .description('print the public key (SPKI PEM) of a checkpoint signing key, for auditors')
    .argument('<path>', 'the signing key (or a public key) in PEM')
    .action((file: string, _options: unknown, cmd: Command) => {
      exitCode = auditPublicKeyCommand(term(cmd), file);
    });
  wire(audit.command('tail'))
    .description('print the newest records of an audit log, one line each (not verified)')
    .argument('<dir>', 'the audit log directory')
    .option('-n, --lines <n>', 'how many records', countArg(1, 100_000), 20)
    .action((dir: string, options: { lines: number }, cmd: Command) => {
      exitCode = auditTailCommand(term(cmd), dir, options);
    });

  wire(program.command('demo'))
    .description(
      'the whole product in one run: seal, verify, catch a one-bit tamper, check the audit log',
    )
    .addOption(backendOption())
    .option('--shards <n>', 'shard files in the generated model', countArg(1, 64), 4)
    .option('--shard-mib <n>', 'size of each shard file, MiB', countArg(1, 4096), 32)
    .option('--keep', 'keep the temporary model and audit log, and print where', false)
    .action(
      async (
        options: { backend: BackendChoice; shards: number; shardMib: number; keep: boolean },
        cmd: Command,
      ) => {
        exitCode = await demoCommand(term(cmd), {
          backend: options.backend,
          shards: options.shards,
          shardMiB: options.shardMib,
          keep: options.keep,
        });
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.error;
    }
    return report(
      terminal ??
        new Terminal(io, {
          json: argv.includes('--json'),
          verbose: argv.includes('--verbose'),
          color: !argv.includes('--no-color'),
        }),
      error,
    );
  }
}

/** One sentence on stderr (and the error in the --json document); the stack only with --verbose. */
function report(term: Terminal, error: unknown): number {
  const exitCode = exitCodeOf(error);
  const known = error instanceof CliError || codeOf(error) !== undefined;
  const message = known
    ? messageOf(error)
    : `unexpected error: ${messageOf(error)}; rerun with --verbose and report it`;
  term.error(`${term.paintErr('red', 'vramseal:')} ${message}`);
  if (term.verbose && error instanceof Error) {
    term.error(error.stack ?? '');
    if (error.cause instanceof Error)
      term.error(`caused by: ${error.cause.stack ?? error.cause.message}`);
  }
  term.document({ ok: false, exitCode, error: { code: codeOf(error) ?? 'UNEXPECTED', message } });
  return exitCode;
}
