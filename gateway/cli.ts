#!/usr/bin/env node
// tlsim-gateway command line. The daemon arrives with the bridge issue; until then
// `run` says so plainly instead of pretending.
const [cmd = 'run'] = process.argv.slice(2);
if (cmd === '--help' || cmd === 'help') {
  console.log('usage: tlsim-gateway [run]\n\nThe gateway daemon is not built yet; see README.md for what exists.');
  process.exit(0);
}
console.log('tlsim-gateway: the gateway daemon is not built yet. What exists so far is listed in README.md.');
process.exit(0);
