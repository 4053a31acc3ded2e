// Integration, e2e and fault tests wait for real processes and services; each waits with
// its own deadlines (until()), and this is only the outer bound per test. (jest 30 reads
// testTimeout from the root config only, not per project.)
jest.setTimeout(120_000);
