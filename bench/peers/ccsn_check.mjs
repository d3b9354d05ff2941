// cc-safety-net (npm, MIT) as a corpus peer: JSON Lines in, JSON Lines out.
//   node bench/peers/ccsn_check.mjs PACKAGE_DIR  < {"cmd": "..."} per line
// prints {"cmd": ..., "decision": "allow"|"deny", "detail": ruleId or reason} per line.
// It calls the package's own library API (`checkCommand` from cc-safety-net/api, the
// function its hook runs) with cwd = this process's working directory, so run it in a
// scratch project folder with HOME pointing at an empty folder (no user rules).
// cc-safety-net has no "ask": a command is allowed or blocked. If checkCommand throws, the
// package's documentation says not to run the command, so that is a deny.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node ccsn_check.mjs PACKAGE_DIR < commands.jsonl');
  process.exit(2);
}
const { checkCommand } = await import(pathToFileURL(join(dir, 'dist', 'api.js')).href);
const cwd = process.cwd();
const out = [];
for (const line of readFileSync(0, 'utf-8').split('\n')) {
  if (!line.trim()) continue;
  const { cmd } = JSON.parse(line);
  let decision = 'allow';
  let detail = '';
  try {
    const result = checkCommand({ command: cmd, cwd });
    if (result.kind !== 'allow') {
      decision = 'deny';
      detail = result.ruleId || String(result.reason ?? '').split('\n')[0].slice(0, 100);
    }
  } catch (err) {
    decision = 'deny';
    detail = `threw: ${err?.name ?? 'Error'}`;
  }
  out.push(JSON.stringify({ cmd, decision, detail }));
}
process.stdout.write(out.length ? `${out.join('\n')}\n` : '');
