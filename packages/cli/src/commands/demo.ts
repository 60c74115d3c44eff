import { generateKeyPairSync, randomBytes, randomFillSync, randomInt } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { verifyAuditLog } from '@vramseal/audit-logging';
import type { NarrationEvent } from '@vramseal/narration-core';
import type { SealedShard, VramManager } from '@vramseal/vram-manager';
import { codeOf, EXIT_CODES, type ExitCode, messageOf } from '../errors.js';
import { signingKeyFrom } from '../key/signing-key.js';
import { TOKEN_ENV, workerKeys } from '../key/worker-key.js';
import { signShard } from '../manifest/manifest.js';
import { type BackendChoice, Session } from '../session/session.js';
import { formatBytes, formatMs } from '../terminal/format.js';
import { startProgress } from '../terminal/progress.js';
import type { Terminal } from '../terminal/terminal.js';
import { runAuditTool } from './audit.js';
import { type SealedRow, sealTable } from './seal.js';
import { narrationLine } from './shared.js';

export interface DemoOptions {
  backend: BackendChoice;
  shards: number;
  shardMiB: number;
  keep: boolean;
}

const MODEL_REF = 'demo/model@v1';
const WORKER_ID = 'demo-worker';

interface Claim {
  claim: string;
  ok: boolean;
}

/** What a step expected to fail with, when it did. */
function failureOf(error: unknown) {
  return { code: codeOf(error) ?? null, check: (error as { check?: string }).check ?? null };
}

/**
 * `vramseal demo`: the product end to end on the default backend (a GPU when one answers, else the
 * host-memory mock), with a throwaway token and a temporary folder: seal a generated model, verify
 * it, flip one bit in device memory, watch the verify fail and the manager stop, reset, re-seal,
 * verify the audit log (and catch an edited copy of it), print the narration and what was proven.
 */
export async function demoCommand(term: Terminal, options: DemoOptions): Promise<ExitCode> {
  const started = performance.now();
  const root = mkdtempSync(path.join(tmpdir(), 'vramseal-demo-'));
  const modelDir = path.join(root, 'demo-model');
  const auditDir = path.join(root, 'audit');
  // The token lives in this process and in the audit tool's environment, never on screen.
  const token = randomBytes(32).toString('hex');
  const toolEnv = { ...term.io.env, [TOKEN_ENV]: token };
  const keys = workerKeys(undefined, { [TOKEN_ENV]: token });
  // Checkpoints are signed with a throwaway Ed25519 key, as `vramseal audit keygen` makes one: an
  // auditor checks them with the public half alone.
  const signing = signingKeyFrom(
    generateKeyPairSync('ed25519').privateKey,
    'a throwaway key of this demo',
  );
  const publicKeyFile = path.join(root, 'audit-signing.pub');
  const story: NarrationEvent[] = [];
  const claims: Claim[] = [];
  const claim = (text: string, ok: boolean) => claims.push({ claim: text, ok });
  const { paint } = term;
  const step = (n: number, text: string) => {
    term.line();
    term.line(paint(['bold', 'cyan'], `${n}. ${text}`));
  };

  try {
    const files = writeModel(modelDir, options.shards, options.shardMiB * 1024 * 1024);
    const session = await Session.open({
      backend: options.backend,
      keys,
      workerId: WORKER_ID,
      auditDir,
      signingKey: signing,
      onNarration: (event) => story.push(event),
      narrationLevel: 'info',
      allowFaultInjection: true,
    });
    const info = session.backend.backendInfo();
    let manager: VramManager;
    const rows: SealedRow[] = [];
    const shards: SealedShard[] = [];
    let tamper: Record<string, unknown> = {};
    let refusedSeal: string | null = null;
    let stoppedState = '';
    try {
      manager = await session.manager();
      term.line(
        paint(
          'bold',
          'vramseal demo: seal a model in device memory, catch a one-bit tamper, check the audit log',
        ),
      );
      term.line();
      term.line(`backend    ${info.kind}: ${info.selectedBecause}`);
      if (info.kind === 'mock') {
        term.line(
          '           (host memory stands in for VRAM here; on a GPU the same demo runs on the GPU)',
        );
      }
      term.line(
        `worker     ${WORKER_ID}, a throwaway token (seal key id ${keys.seal.id}; the token is never shown)`,
      );
      term.line(
        `model      ${options.shards} shard files x ${formatBytes(options.shardMiB * 1024 * 1024)} of random bytes in ${modelDir}`,
      );
      term.line(`audit log  ${auditDir}`);

      step(1, 'Seal: SHA-256 digest, RFC 6962 tree root from device memory, HMAC-SHA256 signature');
      for (const [index, file] of files.entries()) {
        const progress = startProgress(term, path.basename(file), options.shardMiB * 1024 * 1024);
        const t = performance.now();
        try {
          const shard = await manager.sealModel(file, sealOptions(index, options.shards));
          shards.push(shard);
          rows.push({
            ...shard.toJSON(),
            file: path.basename(file),
            signature: signShard(keys.seal, shard.toJSON()),
            ms: performance.now() - t,
          });
        } finally {
          progress.stop();
        }
      }
      term.lines(sealTable(term, rows));
      claim(
        `${shards.length} shards sealed: digest, tree root and HMAC signature each`,
        shards.length === options.shards,
      );

      step(2, 'Verify before inference: every tree root recomputed from device memory');
      let t = performance.now();
      await manager.verifyShardSet(shards);
      term.line(
        `${paint('green', 'ok')}: ${shards.length} shards match their seals, the set is whole (${formatMs(performance.now() - t)})`,
      );
      claim('the untouched shard set verified against device memory', true);

      step(3, 'Tamper: flip one bit in device memory');
      const victimIndex = Math.floor(shards.length / 2);
      const victim = shards[victimIndex]!;
      const offset = randomInt(victim.vramBytes);
      const bit = randomInt(8);
      manager.injectFault(victim, { offset, xorMask: 1 << bit });
      term.line(
        `flipped bit ${bit} of byte ${offset.toLocaleString('en-US')} of ${victim.shardId} on device ${victim.gpuDevice}`,
      );
      tamper = { shardId: victim.shardId, offset, bit };

      step(4, 'Verify again');
      t = performance.now();
      const caught = await manager.verifyShardSet(shards).then(
        () => null,
        (error: unknown) => error,
      );
      const failure = failureOf(caught);
      tamper = { ...tamper, ...failure, caught: caught !== null };
      if (caught === null) {
        term.line(paint('red', 'the flipped bit was NOT caught'));
      } else {
        term.line(
          `${paint(['red', 'bold'], `caught: ${failure.code}`)} (check ${failure.check}, ${formatMs(performance.now() - t)})`,
        );
        term.line(paint('dim', `  ${messageOf(caught)}`));
      }
      claim(
        'a single flipped bit in device memory was caught by the tree root',
        failure.code === 'SEAL_VERIFICATION_FAILED' && failure.check === 'tree_root',
      );
      stoppedState = manager.state;
      const why = manager.stoppedBecause;
      term.line(
        `manager state: ${paint(['yellow', 'bold'], manager.state)}${why ? ` (cause ${why.cause}, shard ${why.shardId})` : ''}`,
      );
      const refused = await manager.sealModel(new Uint8Array(4096), { shardId: 'demo-probe' }).then(
        async (probe) => {
          await manager.deallocate(probe);
          return null;
        },
        (error: unknown) => error,
      );
      refusedSeal = codeOf(refused) ?? null;
      term.line(
        `a new seal meanwhile: ${refused === null ? paint('red', 'accepted') : `refused with ${refusedSeal}`}`,
      );
      claim(
        'the manager stopped serving until an operator reset',
        stoppedState === 'stopped' && refusedSeal === 'MANAGER_STOPPED',
      );

      step(5, 'Operator reset, re-seal the tampered shard from its file, verify');
      await manager.deallocate(victim);
      await manager.reset({
        operator: 'demo-operator',
        reason: 'the tampered shard was deallocated and is re-sealed from its file',
      });
      const resealed = await manager.sealModel(
        files[victimIndex]!,
        sealOptions(victimIndex, options.shards),
      );
      shards[victimIndex] = resealed;
      t = performance.now();
      await manager.verifyShardSet(shards);
      term.line(
        `reset recorded (audited as critical); ${victim.shardId} re-sealed; ${paint('green', 'ok')}: ${shards.length} shards verified (${formatMs(performance.now() - t)}); state ${manager.state}`,
      );
      claim(
        'after an audited reset and a fresh seal the set verified again',
        manager.state === 'ready',
      );
    } finally {
      await session.close();
    }

    step(6, 'Audit log: verify it, read it, and catch an edited copy');
    writeFileSync(publicKeyFile, signing.publicPem, { mode: 0o644 });
    const report = await verifyAuditLog(auditDir, {
      key: keys.audit,
      publicKey: signing.publicPem,
    });
    const types = recordTypes(auditDir);
    const critical = ['seal_verification_failed', 'vram_manager_reset'].every((type) =>
      types.includes(type),
    );
    term.line(paint('dim', `$ vramseal audit verify ${auditDir} --public-key ${publicKeyFile}`));
    if (!term.json) {
      runAuditTool(
        term,
        ['verify', auditDir, '--key-env', TOKEN_ENV, '--public-key', publicKeyFile],
        toolEnv,
      );
    }
    // From just before the failure to the end: the failure, the reset, the re-seal, the close.
    const tailLines = String(
      Math.max(1, types.length - types.indexOf('seal_verification_failed') + 1),
    );
    term.line(paint('dim', `$ vramseal audit tail -n ${tailLines} ${auditDir}`));
    if (!term.json) runAuditTool(term, ['tail', auditDir, '--lines', tailLines], toolEnv);
    claim(
      `the audit log verifies with its key and its checkpoints' signatures (${report.events} events, the failure and the reset among them)`,
      report.ok && report.checked.macs && report.checked.signatures && critical,
    );

    const copy = path.join(root, 'audit-edited');
    const editedSeq = editCopy(auditDir, copy);
    const edited = await verifyAuditLog(copy, { key: keys.audit });
    term.line(
      paint(
        'dim',
        `$ vramseal audit verify ${copy}    # a copy with record ${editedSeq}'s vramBytes changed`,
      ),
    );
    if (!term.json) runAuditTool(term, ['verify', copy, '--key-env', TOKEN_ENV], toolEnv);
    claim(
      'an edited copy of the audit log is rejected at the edited record',
      !edited.ok && edited.firstBadSeq === editedSeq,
    );

    step(7, `Narration: the story of the run (${story.length} events)`);
    const t0 = story[0]?.emitted_at_ms ?? 0;
    for (const event of story) {
      term.line(`${`+${event.emitted_at_ms - t0}`.padStart(6)} ms  ${narrationLine(event, paint)}`);
    }

    step(8, 'What was proven');
    for (const c of claims)
      term.line(`  ${c.ok ? paint('green', 'yes') : paint('red', 'NO ')}  ${c.claim}`);
    const seconds = (performance.now() - started) / 1000;
    const ok = claims.every((c) => c.ok);
    term.line();
    term.line(
      `${ok ? paint(['green', 'bold'], 'demo passed') : paint(['red', 'bold'], 'demo FAILED')} in ${seconds.toFixed(1)} s${options.keep ? `; files kept in ${root}` : ''}`,
    );
    term.document({
      ok,
      seconds: Number(seconds.toFixed(3)),
      backend: { kind: info.kind, selectedBecause: info.selectedBecause },
      keyId: keys.seal.id,
      ...(options.keep ? { dir: root } : {}),
      shards: rows.map((r) => ({ ...r, ms: Number(r.ms.toFixed(3)) })),
      tamper,
      stopped: { state: stoppedState, refusedSeal },
      audit: {
        ok: report.ok,
        events: report.events,
        macsChecked: report.checked.macs,
        signaturesChecked: report.checked.signatures,
        editedCopy: {
          ok: edited.ok,
          reason: edited.reason,
          firstBadSeq: edited.firstBadSeq,
          editedSeq,
        },
      },
      narration: story.map((e) => ({
        ms: e.emitted_at_ms - t0,
        level: e.level,
        actor: e.actor,
        action: e.action,
        human: e.human,
      })),
      proven: claims,
    });
    return ok ? EXIT_CODES.ok : EXIT_CODES.mismatch;
  } finally {
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  }
}

function sealOptions(index: number, total: number) {
  return {
    shardId: `demo-model-${index}`,
    modelRef: MODEL_REF,
    shardIndex: index,
    totalShards: total,
  };
}

/** The model: `count` weight files of random bytes. */
function writeModel(dir: string, count: number, bytes: number): string[] {
  mkdirSync(dir, { recursive: true });
  const buffer = Buffer.allocUnsafe(bytes);
  return Array.from({ length: count }, (_, i) => {
    const file = path.join(
      dir,
      `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.bin`,
    );
    writeFileSync(file, randomFillSync(buffer));
    return file;
  });
}

/** The event types in a log's segments (the documented file layout: one record per line). */
function recordTypes(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('segment-'))
    .flatMap((name) => readFileSync(path.join(dir, name), 'utf8').split('\n'))
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { event: { type: string } }).event.type);
}

/** Copies the log and changes one sealed shard's size in the copy; returns that record's seq. */
function editCopy(from: string, to: string): number {
  cpSync(from, to, { recursive: true });
  const segment = path.join(to, readdirSync(to).find((name) => name.startsWith('segment-'))!);
  const lines = readFileSync(segment, 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes('"type":"vram_sealed"'));
  const line = lines[index]!;
  lines[index] = line.replace(
    /"vramBytes":(\d+)/,
    (_, n: string) => `"vramBytes":${Number(n) + 1}`,
  );
  writeFileSync(segment, lines.join('\n'));
  return (JSON.parse(line) as { seq: number }).seq;
}
