// Every read of a store that decodes record bodies, as one JSON-able object: what the schema-3
// store answered (expected.json, written by make-store.mjs) and what the same store answers
// after migration (record-codec.migration.test.ts) must be the same text. Plain JS so the
// fixture script can run it against the schema-3 build in dist/.
const AT = new Date('2026-06-01T00:00:00.000Z');

export async function readEverything(store, exportSubject) {
  const records = [];
  for await (const page of store.iterateRecords(7)) records.push(...page);
  const keys = records.map((r) => `${r.source}/${r.stream}/${r.recordId}`);
  const snapshot = await store.dumpResolution();
  const ids = snapshot.profiles.map((p) => p.id).sort();
  const explanations = {};
  const exports = {};
  for (const id of ids) {
    explanations[id] = await store.explain(id);
    exports[id] = await exportSubject(store, id, AT);
  }
  const track = await store.delivery.trackRecordsAfter(0, 1000);
  return {
    records,
    existing: [...(await store.existingRecords([...keys].reverse()))],
    ofProfiles: await store.recordsOfProfiles(ids),
    explanations,
    exports,
    track,
    trackByKey: await store.delivery.trackRecordsByKey(track.map((t) => t.key).reverse()),
    links: [...snapshot.links].sort((a, b) => (a.recordKey + a.identifierKey < b.recordKey + b.identifierKey ? -1 : 1)),
    warnings: await store.fieldWarnings({ limit: 100, examples: 5 }),
  };
}
