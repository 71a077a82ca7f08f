'use strict';
// Prints scenario result rows as a fixed-width table.
function printTable(rows, log = console.log) {
  const w = Math.max(...rows.map((r) => r.scenario.length), 8);
  log(`${'scenario'.padEnd(w)}  ${'count'.padStart(7)}  result  notes`);
  log(`${'-'.repeat(w)}  ${'-'.repeat(7)}  ------  -----`);
  for (const r of rows) {
    log(`${r.scenario.padEnd(w)}  ${String(r.count).padStart(7)}  ${r.result.padEnd(6)}  ${r.notes}`);
    for (const f of r.failures) log(`${''.padEnd(w)}           ! ${f}`);
  }
}
module.exports = { printTable };
