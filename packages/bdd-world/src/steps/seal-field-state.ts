import { After } from '@cucumber/cucumber';
import type { VramManager } from '@vramseal/vram-manager';
import type { VramWorld } from '../world.js';

// What the seal-field and key-file steps remember per scenario (a WeakMap: no World fields).

export interface SealFieldState {
  /** The signature before the last re-signing (determinism). */
  previousSignature?: Uint8Array;
  /** Fields a step tried to sign, and what signing and verifying them threw. */
  refused?: { sign: unknown; verify: unknown };
  keyFile?: string;
  /** A manager of another worker (another token), narrating into the scenario's narration. */
  secondManager?: VramManager;
  /** Managers a step made besides the scenario's own; closed after the scenario. */
  readonly extraManagers: VramManager[];
}

const state = new WeakMap<VramWorld, SealFieldState>();

export function stateOf(world: VramWorld): SealFieldState {
  let found = state.get(world);
  if (!found) {
    found = { extraManagers: [] };
    state.set(world, found);
  }
  return found;
}

After(async function (this: VramWorld) {
  const found = state.get(this);
  const managers = [found?.secondManager, ...(found?.extraManagers ?? [])];
  for (const manager of managers) {
    if (manager) await this.inCorrelation(() => manager.close());
  }
});
