// Copies the non-TypeScript files the built program loads at run time (the .proto contracts)
// next to the compiled JavaScript in dist/.
import { cpSync } from 'node:fs';

cpSync('proto', 'dist/proto', { recursive: true, filter: (src) => !src.endsWith('.ts') });
