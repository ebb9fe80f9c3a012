import fs from 'node:fs';
import path from 'node:path';

/**
 * The directory holding Hostplane's package.json: the source tree or the installed package. Files the
 * build writes (dist/console, the database template) are found from here rather than from the module's
 * own directory, because the same module runs from src/ (tests), dist/ (compiled modules) and the
 * bundle (dist/hostplane.cjs), each at another depth.
 */
export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** A path under the build's output directory. */
export const distPath = (...parts: string[]): string => path.join(PACKAGE_ROOT, 'dist', ...parts);
