import { type DataTable, Given, When } from '@cucumber/cucumber';
import type { ManagerSetup } from '../scenario/types.js';
import type { VramWorld } from '../world.js';

const MiB = 1024 * 1024;

Given('a VRAM manager', async function (this: VramWorld) {
  await this.startManager();
});

Given('a VRAM manager on a mock GPU with {int} MiB', async function (this: VramWorld, mib: number) {
  await this.startManager({ mockDevices: [mib * MiB] });
});

Given(
  'a VRAM manager on a mock GPU with {int} devices of {int} MiB',
  async function (this: VramWorld, count: number, mib: number) {
    await this.startManager({ mockDevices: Array.from({ length: count }, () => mib * MiB) });
  },
);

Given(
  'a VRAM manager with the worker token {string}',
  async function (this: VramWorld, workerToken: string) {
    await this.startManager({ workerToken });
  },
);

Given('a VRAM manager with:', async function (this: VramWorld, table: DataTable) {
  await this.startManager(managerSetup(table));
});

When('a VRAM manager is created with:', async function (this: VramWorld, table: DataTable) {
  const setup = managerSetup(table);
  await this.attempt(() => this.startManager(setup));
});

When('the worker restarts', async function (this: VramWorld) {
  await this.restartManager();
});

/**
 * Manager options from a two-column table (option | value):
 * `mock devices` ("64 MiB" or "2 x 64 MiB"), `worker token`, `worker id`, `headroom` ("8 MiB"),
 * `max shard bytes`, `leaf size`, `VRAM-only` (yes/no).
 */
export function managerSetup(table: DataTable): ManagerSetup {
  const setup: ManagerSetup = {};
  const policy: NonNullable<ManagerSetup['policy']> = {};
  for (const [option, value] of table.raw()) {
    switch (option?.trim().toLowerCase()) {
      case 'mock devices':
        setup.mockDevices = parseDevices(value ?? '');
        break;
      case 'worker token':
        setup.workerToken = decodeEscapes(value ?? '');
        break;
      case 'worker id':
        setup.workerId = decodeEscapes(value ?? '');
        break;
      case 'headroom':
        policy.headroomBytes = parseBytes(value ?? '');
        break;
      case 'max shard bytes':
        policy.maxShardBytes = parseBytes(value ?? '');
        break;
      case 'leaf size':
        setup.leafSize = parseBytes(value ?? '');
        break;
      case 'vram-only':
        policy.vramOnly = parseYesNo(value ?? '');
        break;
      default:
        throw new Error(
          `unknown manager option "${option}": use mock devices, worker token, worker id, ` +
            'headroom, max shard bytes, leaf size or VRAM-only',
        );
    }
  }
  if (Object.keys(policy).length > 0) setup.policy = policy;
  return setup;
}

/** "123", "64 KiB", "8 MiB", "1 GiB" to bytes. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+)\s*(bytes|B|KiB|MiB|GiB)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a size: write e.g. 4096, 64 KiB, 8 MiB or 1 GiB`);
  const unit = { KiB: 1024, MiB, GiB: 1024 * MiB }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

function parseDevices(text: string): number[] {
  const m = /^\s*(?:(\d+)\s*x\s*)?(.+)$/.exec(text);
  const count = Number(m?.[1] ?? 1);
  return Array.from({ length: count }, () => parseBytes(m?.[2] ?? ''));
}

function parseYesNo(text: string): boolean {
  if (/^(yes|true)$/i.test(text.trim())) return true;
  if (/^(no|false)$/i.test(text.trim())) return false;
  throw new Error(`"${text}" is not yes or no`);
}

/**
 * Gherkin strings hold no control characters: `\u0000`, `\n`, `\t`, `\\` written in a step are
 * turned into the characters (JSON string escapes), so scenarios can name hostile input.
 */
export function decodeEscapes(text: string): string {
  try {
    // Gherkin tables already turn \n into a newline: keep such characters as they are.
    const escaped = text
      .replace(/"/g, '\\"')
      .replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return JSON.parse(`"${escaped}"`) as string;
  } catch {
    throw new Error(`"${text}" has an escape sequence JSON does not know (use \\uXXXX)`);
  }
}
