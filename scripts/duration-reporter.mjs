// A second test reporter for scripts/test.mjs: writes each test file's time
// (the sum of its top-level tests and suites), slowest first, so the suite's
// length can be watched and trimmed where it goes.
export default async function* durationReporter(source) {
  const perFile = new Map();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0) {
      const file = event.data.file ?? '(unknown)';
      perFile.set(file, (perFile.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  for (const [file, ms] of rows) yield `${(ms / 1000).toFixed(1).padStart(8)} s  ${file.replace(/^.*\/test\//, 'test/')}\n`;
  yield `${(total / 1000).toFixed(1).padStart(8)} s  in all (${rows.length} files, run several at once)\n`;
}
