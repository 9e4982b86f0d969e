// Process signals for `run`: SIGTERM/SIGINT stop gracefully (a second one exits at once), SIGHUP reloads.
import type { Logger } from 'pino';

/** Installs the handlers; the returned promise resolves with the exit code once the gateway has stopped. */
export function handleSignals(gw: { stop(): Promise<void>; reload(): Promise<void> }, log: Logger): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // The user insists (Ctrl-C twice): the lock and runtime file may stay; the next start takes them over.
        log.warn({ signal }, 'second signal: exiting now');
        resolve(signal === 'SIGINT' ? 130 : 143);
        return;
      }
      stopping = true;
      log.info({ signal }, 'stopping on signal');
      gw.stop().then(
        () => {
          process.off('SIGHUP', onHup);
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err }, 'stop failed');
          resolve(1);
        },
      );
    };
    const onHup = (): void => {
      log.info('SIGHUP: reloading config and certificates');
      gw.reload().catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : err }, 'reload failed; keeping the running settings'));
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHup);
  });
}
