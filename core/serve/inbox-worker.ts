import { parentPort, workerData } from 'node:worker_threads';
import { SqliteInboxWriter } from '../store/sqlite-inbox.js';
import type { InboxEvent } from './contract.js';

/**
 * The inbox writer on its own thread: better-sqlite3 is synchronous, and the
 * fsync of each group commit would otherwise stop the event loop that parses
 * the next requests. Messages: { id, groups } in, { id, results } or { id, error } out.
 */
const writer = new SqliteInboxWriter(workerData.file as string, workerData.opts as object);
parentPort!.on('message', (msg: { id: number; groups?: InboxEvent[][]; close?: boolean }) => {
  if (msg.close) {
    writer.close();
    parentPort!.postMessage({ id: msg.id, results: [] });
    parentPort!.close();
    return;
  }
  writer.appendGroups(msg.groups!).then(
    (results) => parentPort!.postMessage({ id: msg.id, results }),
    (err: Error) => parentPort!.postMessage({ id: msg.id, error: err.message }),
  );
});
