#!/usr/bin/env node
// tlsim-gateway command line entry (the npm bin and `npm start`): runs the command, then exits with its code.
import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A stopped gateway has closed its listeners and timers; anything left over must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`tlsim-gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
