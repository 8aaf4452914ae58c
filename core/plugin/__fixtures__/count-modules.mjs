// Preload (`node --import <this file>`) that records every module a process loads:
// ES modules through a loader hook, CommonJS ones (most drivers) from require.cache at exit.
// Writes { esm: [url...], cjs: [path...] } to $TRIBUTARY_MODULE_LIST.
//
// A worker thread (the SQLite store's commit thread) inherits the preload and runs it
// again, with its own module cache and hooks: each thread writes lists of its own
// (the main thread $TRIBUTARY_MODULE_LIST, thread n $TRIBUTARY_MODULE_LIST.thread-n),
// so a thread that ends later never overwrites what another loaded.
import { createRequire, register } from 'node:module';
import { writeFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

const out = isMainThread ? process.env.TRIBUTARY_MODULE_LIST : `${process.env.TRIBUTARY_MODULE_LIST}.thread-${threadId}`;
const esmList = `${out}.esm`;
writeFileSync(esmList, '');
register('./count-hooks.mjs', { parentURL: import.meta.url, data: { file: esmList } });
process.on('exit', () => {
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  writeFileSync(out, JSON.stringify({ cjs }));
});
