import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Package {
  readonly root: string;
  readonly version: string;
}

/** Weir's package.json, found upward from this file (it sits one level deeper under dist/). */
function weirPackage(): Package | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'weir' && pkg.version) return { root: dir, version: pkg.version };
    } catch {
      // no package.json here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function weirVersion(): string {
  return weirPackage()?.version ?? '0.0.0';
}

/** Where `npm run build` puts the browser console (scripts/build-web.mjs). */
export function consoleDirectory(): string {
  return join(weirPackage()?.root ?? process.cwd(), 'dist', 'web');
}
