// The control socket's wire format: <dataDir>/control.sock, one JSON line in, one JSON line out, then close.
// Sizes and waits are bounded on both ends so a stuck or hostile peer of the socket holds nothing for long.
import { join } from 'node:path';
import type { StatusJson } from '../daemon/status.js';

export const CONTROL_SOCKET = 'control.sock';
/** A request is a command line; 64 KiB is far more than any. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A response may list every contact. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** How long the server waits for a client's request line. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** How long the CLI waits for the answer (a command may wait on the store or a link). */
export const RESPONSE_TIMEOUT_MS = 30_000;

export type ControlRequest =
  | { op: 'status' }
  /** A gateway command line (`add …`, `list`, `rename …`): run by gateway/commands on the live network. */
  | { op: 'command'; line: string }
  | { op: 'reload' }
  /** (Additive) `tlsim-gateway account …`: local accounts, made or removed on the running gateway. */
  | ({ op: 'account' } & ({ action: 'list' } | { action: 'add'; name: string; passwordFile?: string } | { action: 'remove'; name: string }))
  /** A one-time login link to the status page (`tlsim-gateway open`). */
  | { op: 'web-link' };

export type ControlResponse =
  | { ok: true; status: StatusJson }
  | { ok: boolean; text: string; data?: unknown }
  | { ok: false; error: string };

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET);
}

/** Checks a parsed request line; returns undefined for anything that is not one of ours. */
export function parseRequest(value: unknown): ControlRequest | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  if (o.op === 'status' || o.op === 'reload' || o.op === 'web-link') return { op: o.op };
  if (o.op === 'command' && typeof o.line === 'string') return { op: 'command', line: o.line };
  if (o.op === 'account') {
    if (o.action === 'list') return { op: 'account', action: 'list' };
    if (typeof o.name !== 'string') return undefined;
    if (o.action === 'remove') return { op: 'account', action: 'remove', name: o.name };
    if (o.action === 'add' && (o.passwordFile === undefined || typeof o.passwordFile === 'string')) {
      return { op: 'account', action: 'add', name: o.name, ...(o.passwordFile !== undefined && { passwordFile: o.passwordFile as string }) };
    }
  }
  return undefined;
}
