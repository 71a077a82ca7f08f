'use strict';
/** Runs a benchmark script with --json, bounded in time, for the bench-* tests. */
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** Resolves with the script's JSON output (stdout from its first `{`), or rejects with its stderr. */
function runJson(script, args, limitMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    // SIGTERM first, so the benchmark stops the apps it started; SIGKILL if it does not go.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout.slice(stdout.indexOf('{'))));
      } catch (err) {
        reject(new Error(`${script} printed no JSON: ${err.message}\n${stdout.slice(-2000)}`));
      }
    });
  });
}

module.exports = { runJson, ROOT };
