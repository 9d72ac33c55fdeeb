// `npm run bench` runs tests/bench/run.ts (throughput, latency, per-turn costs);
// `npm run bench -- curves` runs tests/bench/curves.ts (what a chat's length costs).
await import(process.argv.slice(2).includes('curves') ? './curves.ts' : './run.ts');
export {};
