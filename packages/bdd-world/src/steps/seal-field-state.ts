import type { VramManager } from '@vramseal/vram-manager';
import type { VramWorld } from '../world.js';

// What the seal-field and key-file steps remember per scenario (a WeakMap: no World fields).

export interface SealFieldState {
  /** The signature before the last re-signing (determinism). */
  previousSignature?: Uint8Array;
  /** Fields a step tried to sign, and what signing and verifying them threw. */
  refused?: { sign: unknown; verify: unknown };
  keyFile?: string;
  /**
   * A manager of another worker (another token), narrating into the scenario's narration; it is
   * also in the World's `extraManagers`, which the After hook closes.
   */
  secondManager?: VramManager;
}

const state = new WeakMap<VramWorld, SealFieldState>();

export function stateOf(world: VramWorld): SealFieldState {
  let found = state.get(world);
  if (!found) {
    found = {};
    state.set(world, found);
  }
  return found;
}
