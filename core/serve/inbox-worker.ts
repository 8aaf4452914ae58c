import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { FLAT_FIELDS, SqliteInboxWriter, type FlatEvents } from '../store/sqlite-inbox.js';
import type { InboxAppendResult } from './contract.js';

/**
 * The inbox writer on its own thread: better-sqlite3 is synchronous, and the
 * fsync of each group commit would otherwise stop the event loop that parses
 * the next requests.
 *
 * Messages in: { id, groups } (each group flat, see flatEvents) or { id, close }. Every message queued while a
 * commit runs is merged into the NEXT single transaction (one fsync for all of
 * them: commit when idle, batch while busy); then one message goes back for
 * that commit: { events, done: [{ id, results } | { id, error }] }.
 */
interface In {
  id: number;
  groups?: FlatEvents[];
  close?: boolean;
}

const port = parentPort!;
const writer = new SqliteInboxWriter(workerData.file as string, workerData.opts as object);
const queue: In[] = [];
let running = false;

port.on('message', (msg: In) => {
  queue.push(msg);
  if (!running) void pump();
});

async function pump(): Promise<void> {
  running = true;
  try {
    while (queue.length) {
      // Take everything already queued on the port, not only what the event loop has dispatched.
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) queue.push(m.message as In);
      const batch = queue.splice(0);
      const closeAt = batch.findIndex((m) => m.close);
      const work = closeAt < 0 ? batch : batch.slice(0, closeAt);
      if (work.length) await commit(work);
      if (closeAt >= 0) {
        writer.close();
        port.postMessage({ events: 0, done: [{ id: batch[closeAt].id, results: [] }] });
        port.close();
        return;
      }
    }
  } finally {
    running = false;
  }
}

/** One transaction for the groups of several messages; each message gets its own slice of the results. */
async function commit(work: In[]): Promise<void> {
  const groups: FlatEvents[] = [];
  let events = 0;
  for (const m of work) {
    for (const g of m.groups!) {
      groups.push(g);
      events += g.length / FLAT_FIELDS;
    }
  }
  let results: InboxAppendResult[];
  try {
    results = await writer.appendFlat(groups);
  } catch (err) {
    const error = (err as Error).message;
    port.postMessage({ events: 0, done: work.map((m) => ({ id: m.id, error })) });
    return;
  }
  let at = 0;
  const done = work.map((m) => {
    const slice = results.slice(at, at + m.groups!.length);
    at += m.groups!.length;
    return { id: m.id, results: slice };
  });
  port.postMessage({ events, done });
}
