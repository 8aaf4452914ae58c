// A plugin whose module throws while loading (a missing driver, a top-level bug).
throw new Error('vendor SDK missing');
