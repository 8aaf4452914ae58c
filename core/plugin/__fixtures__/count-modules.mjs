// Preload (`node --import <this file>`) that records every module a process loads:
// ES modules through a loader hook, CommonJS ones (most drivers) from require.cache at exit.
// Writes { esm: [url...], cjs: [path...] } to $TRIBUTARY_MODULE_LIST.
import { createRequire, register } from 'node:module';
import { writeFileSync } from 'node:fs';

const out = process.env.TRIBUTARY_MODULE_LIST;
const esmList = `${out}.esm`;
writeFileSync(esmList, '');
register('./count-hooks.mjs', { parentURL: import.meta.url, data: { file: esmList } });
process.on('exit', () => {
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  writeFileSync(out, JSON.stringify({ cjs }));
});
