'use strict';
// Runs one scenario in its own process and prints its result row as the last line of stdout
// (JSON), so scripts/faults.js still prints a complete table if a scenario's process dies.
// argv: <scenario name> <options JSON>
const path = require('node:path');

const [name, json] = process.argv.slice(2);
require(path.join(__dirname, 'scenarios', name))
  .run(JSON.parse(json || '{}'))
  .then(
    (row) => {
      process.stdout.write(`\n${JSON.stringify(row)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stdout.write(`\n${JSON.stringify({ scenario: name, count: 0, result: 'FAIL', failures: [String(err && err.stack)], notes: 'threw' })}\n`);
      process.exit(1);
    },
  );
