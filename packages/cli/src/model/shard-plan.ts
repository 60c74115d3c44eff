import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { CliError, cannotRead, codeOf, messageOf } from '../errors.js';
import { shownName } from '../input/input-error.js';

/** One file to seal, and where it sits in its model. */
export interface ShardPlan {
  /** Absolute path. */
  file: string;
  /** The path as the user named it (or under the directory they named), for messages. */
  label: string;
  size: number;
  shardId: string;
  modelRef: string;
  /** Where the model ref came from, for messages: `--model-ref`, or the name it was taken from. */
  modelRefFrom: string;
  shardIndex: number;
  totalShards: number;
}

/** Shard ids allow A-Z a-z 0-9 _ - (vram-manager's SHARD_ID_PATTERN); anything else becomes `-`. */
function toShardId(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return (id === '' ? 'shard' : id).slice(0, 240);
}

/** A file's name without its extension: `model-00001-of-00003.safetensors` -> `model-00001-of-00003`. */
function stem(file: string): string {
  const name = path.basename(file);
  const ext = path.extname(name);
  return ext === '' || ext === name ? name : name.slice(0, -ext.length);
}

function statOf(file: string) {
  try {
    return statSync(file);
  } catch (error) {
    throw new CliError('UNREADABLE_INPUT', cannotRead(file, error), { cause: error });
  }
}

/** A shard holds at least one byte (the manager refuses an empty one): said before any work. */
function notEmpty(file: string, size: number): number {
  if (size === 0) {
    throw new CliError(
      'UNREADABLE_INPUT',
      `${file} is empty (0 bytes), and a shard holds at least one byte; remove it, or name other files`,
    );
  }
  return size;
}

/**
 * The shards to seal: a file is a model of one shard; a directory is one model whose weight files
 * (its regular files, hidden ones and `exclude` left out, by name) form a shard set, index i of n.
 * The model ref is `modelRef` when given, else the file's or directory's name. Shard ids are the
 * file name without its extension (a directory's name in front), made unique with `-2`, `-3`.
 */
export function planShards(
  inputs: readonly string[],
  options: { modelRef?: string; exclude?: readonly string[] } = {},
): ShardPlan[] {
  const exclude = new Set((options.exclude ?? []).map((f) => path.resolve(f)));
  const plans: ShardPlan[] = [];
  for (const input of inputs) {
    const stat = statOf(input);
    if (stat.isFile()) {
      const name = path.basename(input);
      plans.push({
        file: path.resolve(input),
        label: input,
        size: notEmpty(input, stat.size),
        shardId: toShardId(stem(input)),
        modelRef: options.modelRef ?? name,
        modelRefFrom: options.modelRef === undefined ? `the file name of ${input}` : '--model-ref',
        shardIndex: 0,
        totalShards: 1,
      });
    } else if (stat.isDirectory()) {
      plans.push(...planDirectory(input, exclude, options.modelRef));
    } else {
      throw new CliError(
        'UNREADABLE_INPUT',
        `${input} is neither a regular file nor a directory; name weight files or a model directory`,
      );
    }
  }
  const seen = new Map<string, number>();
  for (const plan of plans) {
    const n = seen.get(plan.shardId) ?? 0;
    seen.set(plan.shardId, n + 1);
    if (n > 0) plan.shardId = `${plan.shardId}-${n + 1}`;
  }
  return plans;
}

function planDirectory(dir: string, exclude: Set<string>, modelRef?: string): ShardPlan[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new CliError(
      'UNREADABLE_INPUT',
      `cannot list ${dir} (${codeOf(error) ?? messageOf(error)}); check its permissions`,
      { cause: error },
    );
  }
  const files = names
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name))
    .filter((file) => !exclude.has(path.resolve(file)))
    .map((file) => ({ file, stat: statOf(file) }))
    .filter(({ stat }) => stat.isFile());
  if (files.length === 0) {
    throw new CliError(
      'UNREADABLE_INPUT',
      `${dir} holds no files to seal; name a directory of weight files (subdirectories and hidden files are skipped)`,
    );
  }
  const model = path.basename(path.resolve(dir));
  return files.map(({ file, stat }, index) => ({
    file: path.resolve(file),
    label: file,
    size: notEmpty(file, stat.size),
    shardId: toShardId(`${model}-${stem(file)}`),
    modelRef: modelRef ?? model,
    modelRefFrom:
      modelRef === undefined ? `the directory name of ${shownName(dir)}` : '--model-ref',
    shardIndex: index,
    totalShards: files.length,
  }));
}
