// Binding a c2s listener (TCP, or HTTP for WebSocket): a bind error rejects, later errors are logged.
import type { Server } from 'node:net';
import type { Logger } from 'pino';

/**
 * Listens on host:port (0 = a free port) and resolves with the port bound, logged as
 * "<what> listening"; a failure to bind rejects; errors after that are logged as "<what> listener error".
 */
export async function listenLogged(server: Server, host: string, port: number, log: Logger, what: string): Promise<number | undefined> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, `${what} listener error`));
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : undefined;
  log.info({ host, port: bound }, `${what} listening`);
  return bound;
}
