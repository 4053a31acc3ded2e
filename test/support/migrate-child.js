// Runs runMigrations in a process of its own, for tests that need real concurrent
// migrators: node migrate-child.js <compiled migration-runner.js> '<MigrateOptions JSON>'
// Prints the MigrateResult as JSON on stdout; on failure prints the error on stderr and
// exits 1. The runner is compiled by the test (see compileForChild in the spec).
'use strict';
const [runnerPath, optionsJson] = process.argv.slice(2);
const { runMigrations } = require(runnerPath);
runMigrations(JSON.parse(optionsJson)).then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (err) => {
    process.stderr.write(String((err && err.stack) || err));
    process.exitCode = 1;
  },
);
