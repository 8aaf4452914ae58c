import 'reflect-metadata';

/**
 * `npm run bench -- <name> [options]`: each benchmark is a module in bench/
 * exporting `run(args)`. Benchmarks print figures; they assert nothing about time.
 */
const BENCHES: Record<string, string> = {
  pipeline: './pipeline.js',
  resolve: './resolve.js',
  mysql: './mysql.js',
  postgres: './postgres.js',
  'deliver-postgres': './deliver-postgres.js',
  quality: './quality/score.js',
  deliver: './deliver.js',
  ftp: './ftp.js',
  serve: './serve.js',
  sftp: './sftp.js',
  http: './http.js',
  scale: './scale.js',
  'store-floor': './store-floor.js',
};

const [name, ...args] = process.argv.slice(2);
if (!name || !BENCHES[name]) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]\n`);
  process.exit(2);
}
const mod = (await import(BENCHES[name])) as { run(args: string[]): Promise<void> };
await mod.run(args);
