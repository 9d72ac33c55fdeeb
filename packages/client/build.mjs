// Builds @chat/client: ESM JavaScript (esbuild) and one .d.ts per entry with
// the server router's types bundled in (rollup + rollup-plugin-dts), so the
// package installs and type-checks anywhere with only its registry
// dependencies. The server's request context (its services: database,
// auth, ...) is replaced by an opaque stub: clients never see it.
// (tsup 9 would do both, but it needs Node 22; this runs on Node 20.)
import { build } from 'esbuild';
import { readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
const entries = { index: 'src/index.ts', 'ai-sdk': 'src/ai-sdk.ts' };
/** Registry packages the output imports (dependencies and the optional `ai` peer); everything else is bundled. */
const external = ['@trpc/client', '@trpc/server', 'superjson', 'zod', 'ai'];
const isExternal = (id) => external.some((name) => id === name || id.startsWith(`${name}/`));

rmSync(dist, { recursive: true, force: true });
const started = Date.now();

await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.join(here, file)])),
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  external,
  logLevel: 'warning',
});

const serverContext = path.join(here, 'build/server-context.d.ts');
const packages = path.resolve(here, '..');
const apiTrpc = path.join(packages, 'api/src/trpc');
/** Type sources bundled into the .d.ts: this package, the API's router and views, the domain types. */
const bundled = ['client/src/', 'client/build/', 'api/src/', 'core/src/'].map((dir) => path.join(packages, dir));
/** Server-only modules (database, auth, node): replaced by a marker that must not survive tree-shaking. */
const SERVER_ONLY = '\0server-only:';
const bundle = await rollup({
  input: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.join(here, file)])),
  external: (id) => isExternal(id) || id.startsWith(SERVER_ONLY),
  treeshake: { moduleSideEffects: false },
  plugins: [
    {
      name: 'server-types-only',
      async resolveId(source, importer, options) {
        if (isExternal(source)) return { id: source, external: true };
        if (source.startsWith(SERVER_ONLY)) return { id: source, external: true };
        const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
        if (!resolved || resolved.external) return { id: `${SERVER_ONLY}${source}`, external: true };
        const file = realpathSync(resolved.id);
        if (file.replace(/(\.d)?\.ts$/, '') === apiTrpc) return serverContext;
        if (!bundled.some((dir) => file.startsWith(dir))) return { id: `${SERVER_ONLY}${source}`, external: true };
        return { ...resolved, id: file };
      },
    },
    dts({ respectExternal: true, tsconfig: path.join(here, 'tsconfig.json'), compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true } }),
  ],
  onwarn(warning, warn) {
    if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning);
  },
});
await bundle.write({ dir: dist, format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: '[name]-[hash].d.ts' });
await bundle.close();
for (const file of readdirSync(dist).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(path.join(dist, file), 'utf8');
  const leaked = [...text.matchAll(/from ['"]([^'"]+)['"]/g)].map((m) => m[1]).filter((id) => !isExternal(id) && !id.startsWith('./'));
  if (leaked.length) throw new Error(`dist/${file} imports server-only modules: ${[...new Set(leaked)].join(', ')}`);
}
console.log(`@chat/client built in ${Date.now() - started} ms`);
