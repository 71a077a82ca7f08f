'use strict';
// The child side of test/support/peer-process.js: run the commands a test sends over IPC and
// answer each with { type: 'result', id, ...result } (or { error } if it threw).

/** Sends a message to the test process, if it is still listening. */
function report(msg) {
  if (process.connected) process.send(msg);
}

/** Serves `commands` (name -> function(args) returning a result or a promise of one). */
function serveCommands(commands) {
  process.on('message', async (msg) => {
    try {
      const result = await commands[msg.cmd](msg);
      report({ type: 'result', id: msg.id, ...result });
    } catch (err) {
      report({ type: 'result', id: msg.id, error: { code: err.code, message: err.message } });
    }
  });
  report({ type: 'ready', pid: process.pid });
}

module.exports = { report, serveCommands };
