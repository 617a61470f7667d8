/** The console build of globalSetup (scripts/build-web.mjs, once per run), for the tests that load it. */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Empty when the console built. */
    consoleBuild: { error?: string };
  }
}

/** Throws why the console did not build. */
export function assertConsoleBuilt(): void {
  const built = inject('consoleBuild');
  if (built.error) throw new Error(`the browser console did not build: ${built.error}`);
}
