/**
 * One category per frame, from where its code lives (callFrame.url) and, for V8's pseudo-frames, its name.
 */
import { fileURLToPath } from 'node:url';
import { NODE_HTTP_MODULES, NODE_SOCKET_MODULES, PSEUDO_FRAMES, packageRule, type Category, type Product } from './categories.js';
import type { CallFrame } from './profile.js';

/** Who wrote the code: a product from PACKAGE_RULES, or the runtime itself. */
export type Owner = Product | 'Node.js' | 'V8';

export interface FrameClass {
  category: Category;
  /** npm package name; for the project's own code its workspace folder (`apps/fastify`); null for Node.js and V8. */
  package: string | null;
  owner: Owner | null;
  /** Short, readable place: `fastify/lib/route.js:410`, `node:_http_server:1150`, `apps/fastify/dist/main.js:12`. */
  location: string;
}

export interface ClassifyOptions {
  /**
   * Folders (paths or file: URLs) holding the project's own code, classified `app`. Default: `apps/` and `packages/`
   * of the stackbench checkout this module lives in.
   */
  appRoots?: readonly string[];
}

// This file is packages/profile/{src,dist}/classify.*: three levels below the repository root.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_APP_ROOTS: readonly string[] = [`${REPO_ROOT}apps`, `${REPO_ROOT}packages`];

/** Where a URL points, before any category is decided. */
export type Place =
  | { kind: 'native' }
  | { kind: 'node'; module: string }
  | { kind: 'package'; name: string; file: string }
  | { kind: 'file'; path: string }
  | { kind: 'unknown'; url: string };

const slashes = (p: string) => p.replace(/\\/g, '/');

function urlToPath(url: string): string | null {
  if (url.startsWith('file:')) {
    try {
      // Not fileURLToPath: it refuses Windows URLs on POSIX, and profiles travel between machines.
      const path = decodeURIComponent(new URL(url).pathname);
      return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
    } catch {
      return null;
    }
  }
  if (url.startsWith('/')) return url; // CommonJS modules may report a bare path
  if (/^[A-Za-z]:[\\/]/.test(url)) return slashes(url);
  return null;
}

/** Parses a callFrame.url: the innermost `node_modules/<package>` wins (scoped packages included). */
export function placeOf(url: string): Place {
  if (url === '' || url.startsWith('wasm://')) return { kind: 'native' };
  if (url.startsWith('node:')) return { kind: 'node', module: url.slice('node:'.length) };
  const path = urlToPath(url);
  if (path === null) return { kind: 'unknown', url };
  const at = path.lastIndexOf('/node_modules/');
  if (at >= 0) {
    const rest = path.slice(at + '/node_modules/'.length).split('/');
    const scoped = rest[0]!.startsWith('@');
    const name = scoped ? `${rest[0]}/${rest[1] ?? ''}` : rest[0]!;
    const file = rest.slice(scoped ? 2 : 1).join('/');
    if (name && !name.endsWith('/')) return { kind: 'package', name, file };
  }
  return { kind: 'file', path };
}

const inModules = (module: string, list: readonly string[]) => list.some((m) => (m.endsWith('/') ? module.startsWith(m) : module === m));

function normalizeRoot(root: string): string {
  const path = urlToPath(root) ?? slashes(root);
  return path.replace(/\/+$/, '');
}

const lineSuffix = (frame: CallFrame) => (frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : '');

/** The category, package and owner of frames, given the class of their caller (natives inherit it). */
export class FrameClassifier {
  private readonly appRoots: string[];

  constructor(options: ClassifyOptions = {}) {
    this.appRoots = (options.appRoots ?? DEFAULT_APP_ROOTS).map(normalizeRoot);
  }

  classify(frame: CallFrame, caller: FrameClass | null): FrameClass {
    const place = placeOf(frame.url);
    if (place.kind === 'native') {
      const pseudo = frame.url === '' ? PSEUDO_FRAMES[frame.functionName] : undefined;
      if (pseudo) return { category: pseudo, package: null, owner: 'V8', location: '' };
      // A V8 builtin or C++ binding (RegExp, writev, URL parse...): it works for its caller, so it is charged there.
      if (caller && !isPseudo(caller)) return { ...caller, location: '(native)' };
      return { category: 'node-other', package: null, owner: 'Node.js', location: '(native)' };
    }
    if (place.kind === 'node') {
      const location = `${frame.url}${lineSuffix(frame)}`;
      if (inModules(place.module, NODE_SOCKET_MODULES) && caller && !isNodeOrPseudo(caller)) {
        return { category: caller.category, package: null, owner: caller.owner, location };
      }
      const http = inModules(place.module, NODE_HTTP_MODULES) || inModules(place.module, NODE_SOCKET_MODULES);
      return { category: http ? 'node-http' : 'node-other', package: null, owner: 'Node.js', location };
    }
    if (place.kind === 'package') {
      const location = `${place.name}/${place.file}${lineSuffix(frame)}`;
      const rule = packageRule(place.name);
      if (!rule) return { category: 'other', package: place.name, owner: null, location };
      if (rule.category === 'caller') {
        const charged = caller && !isPseudo(caller) ? caller : null;
        return { category: charged?.category ?? 'other', package: place.name, owner: charged?.owner ?? null, location };
      }
      return { category: rule.category, package: place.name, owner: rule.partOf, location };
    }
    if (place.kind === 'file') {
      for (const root of this.appRoots) {
        if (!place.path.startsWith(`${root}/`)) continue;
        const base = root.slice(root.lastIndexOf('/') + 1);
        const relative = `${base}/${place.path.slice(root.length + 1)}`;
        const workspace = relative.split('/').slice(0, 2).join('/');
        return { category: 'app', package: workspace, owner: 'stackbench', location: `${relative}${lineSuffix(frame)}` };
      }
      return { category: 'other', package: null, owner: null, location: `${place.path}${lineSuffix(frame)}` };
    }
    return { category: 'other', package: null, owner: null, location: `${place.url}${lineSuffix(frame)}` };
  }
}

function isPseudo(c: FrameClass): boolean {
  return c.category === 'program' || c.category === 'gc' || c.category === 'idle';
}

function isNodeOrPseudo(c: FrameClass): boolean {
  return c.owner === 'Node.js' || isPseudo(c);
}
