// Start-up cost of the built-in plugins, in a fresh process (docs/benchmarks/startup.md, issue 14):
//   node core/plugin/__fixtures__/import-built-ins.mjs all        every built-in imported (the old boot)
//   node core/plugin/__fixtures__/import-built-ins.mjs lazy       manifests, then what config/example.yaml names
//   node core/plugin/__fixtures__/import-built-ins.mjs manifests  the manifests only
// Needs `npm run build` first.
const { PluginRegistry, builtInPluginFiles, declareBuiltIns } = await import(new URL('../../../dist/core/plugin/loader.js', import.meta.url).href);
const mode = process.argv[2] ?? 'lazy';
const t = performance.now();
const reg = new PluginRegistry();
if (mode === 'all') for (const f of builtInPluginFiles()) await reg.loadFile(f);
else {
  await declareBuiltIns(reg);
  if (mode === 'lazy') {
    await reg.needAll([
      { kind: 'source', id: 'csv' },
      { kind: 'source', id: 'jsonl' },
      { kind: 'destination', id: 'file' },
      { kind: 'resolver', id: 'deterministic' },
    ]);
  }
}
console.log(`${mode}: ${Math.round(performance.now() - t)} ms`);
