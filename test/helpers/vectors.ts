/** Paths into the reference daemon's test vectors (shared/vectors). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../vectors/', import.meta.url));

export const VECTORS = {
  root: ROOT,
  http: (file: string): string => join(ROOT, 'http', file),
  identities: (file: string): string => join(ROOT, 'identities', file),
  manifests: (dir: string, file: string): string => join(ROOT, 'manifests', dir, file),
  file: (rel: string): string => join(ROOT, rel),
};
