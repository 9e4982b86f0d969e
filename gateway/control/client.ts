// The CLI's end of the control socket: one request to a running gateway, one answer, bounded in size and time.
import { createConnection } from 'node:net';
import {
  MAX_RESPONSE_BYTES,
  RESPONSE_TIMEOUT_MS,
  controlSocketPath,
  type ControlRequest,
  type ControlResponse,
} from './protocol.js';

/** No gateway listens on the socket (none runs, or it crashed): the caller works on the data directory itself. */
export class ControlUnavailableError extends Error {
  constructor(path: string, reason: string) {
    super(`no gateway answers on ${path} (${reason})`);
    this.name = 'ControlUnavailableError';
  }
}

export function controlRequest(
  dataDir: string,
  request: ControlRequest,
  opts: { timeoutMs?: number } = {},
): Promise<ControlResponse> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buf = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: ControlResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new Error(`the gateway did not answer on ${path} within ${(opts.timeoutMs ?? RESPONSE_TIMEOUT_MS) / 1000} s`)),
      opts.timeoutMs ?? RESPONSE_TIMEOUT_MS,
    );
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const gone = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK';
      finish(gone ? new ControlUnavailableError(path, err.code!) : err);
    });
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_RESPONSE_BYTES) finish(new Error('the gateway sent an oversized answer'));
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        finish(undefined, JSON.parse(buf.slice(0, nl)) as ControlResponse);
      } catch {
        finish(new Error('the gateway sent an answer that is not JSON'));
      }
    });
    socket.on('close', () => finish(new Error(`the gateway at ${path} closed the connection without an answer`)));
  });
}
