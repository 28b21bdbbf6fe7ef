/**
 * Where code lives, as data: the categories self time is grouped into, and the category of every npm package,
 * Node.js built-in module and V8 pseudo-frame the benchmarked stacks run. The classifier (classify.ts) only reads
 * these tables, so a new dependency is one line here.
 */

export type Category =
  | 'framework'
  | 'validation'
  | 'orm'
  | 'pg-driver'
  | 'node-http'
  | 'app'
  | 'gc'
  | 'idle'
  | 'program'
  | 'node-other'
  | 'other';

export interface CategoryInfo {
  label: string;
  /** Fill of the category's frames in the flame graph; light enough for black text. */
  color: string;
  description: string;
}

/** In display order. */
export const CATEGORIES: Readonly<Record<Category, CategoryInfo>> = {
  framework: {
    label: 'framework',
    color: '#6fa8dc',
    description: 'the web framework: Fastify, Express, NestJS and the packages they bring (router, body parser, serializer, logger)',
  },
  validation: { label: 'validation', color: '#76d7d2', description: 'request/response validation: Ajv (Fastify), class-validator (NestJS)' },
  orm: { label: 'ORM', color: '#f6a35b', description: 'the ORM / query builder: drizzle-orm, TypeORM' },
  'pg-driver': {
    label: 'pg driver',
    color: '#e8c84a',
    description: 'node-postgres (pg, pg-pool, pg-protocol, pg-types, postgres-*) and the socket writes it makes',
  },
  'node-http': {
    label: 'node:http',
    color: '#82c785',
    description: "Node's HTTP server (node:http, _http_*) and the sockets and streams under it (net, stream)",
  },
  app: { label: 'app', color: '#b9a3dd', description: "stackbench's own code (apps/*, packages/*, @stackbench/*)" },
  gc: { label: 'GC', color: '#e57373', description: 'V8 garbage collector' },
  program: { label: '(program)', color: '#bdbdbd', description: 'V8/native work with no JavaScript frame (compiling, runtime, libuv)' },
  'node-other': { label: 'node (other)', color: '#c5e3bd', description: 'other Node.js internals: timers, events, promises, module loader, fs, crypto' },
  other: { label: 'other', color: '#f2a7c9', description: 'code in none of the above: unlisted npm packages, files outside the repository, eval' },
  idle: { label: '(idle)', color: '#e6e6e6', description: 'waiting in the event loop; not CPU work, so left out of percentages and the flame graph' },
};

export const CATEGORY_ORDER = Object.keys(CATEGORIES) as Category[];

/**
 * The product a package belongs to, as readers know it: the report says "TypeORM: 23 % of app CPU".
 */
export type Product =
  | 'Fastify'
  | 'Express'
  | 'NestJS'
  | 'Ajv'
  | 'class-validator'
  | 'TypeORM'
  | 'drizzle-orm'
  | 'node-postgres'
  | 'stackbench';

/**
 * One package's place. `category: 'caller'` marks a package several products share (debug, tslib, path-to-regexp
 * ...): its time is charged to the category and product of the frame that called it, because "debug" alone says
 * nothing about which layer paid for it.
 */
export type PackageRule =
  | { category: Exclude<Category, 'gc' | 'idle' | 'program' | 'node-http' | 'node-other' | 'other'>; partOf: Product; role?: string }
  | { category: 'caller'; usedBy: Product[]; role?: string };

const fastify = (role?: string): PackageRule => ({ category: 'framework', partOf: 'Fastify', ...(role ? { role } : {}) });
const express = (role?: string): PackageRule => ({ category: 'framework', partOf: 'Express', ...(role ? { role } : {}) });
const nest = (role?: string): PackageRule => ({ category: 'framework', partOf: 'NestJS', ...(role ? { role } : {}) });
const typeorm = (role?: string): PackageRule => ({ category: 'orm', partOf: 'TypeORM', ...(role ? { role } : {}) });
const pg = (role?: string): PackageRule => ({ category: 'pg-driver', partOf: 'node-postgres', ...(role ? { role } : {}) });
const lab = (role: string): PackageRule => ({ category: 'app', partOf: 'stackbench', role });
const shared = (usedBy: Product[], role?: string): PackageRule => ({ category: 'caller', usedBy, ...(role ? { role } : {}) });

/**
 * npm package -> rule. Keys are exact names, `@scope/*` (every package of the scope) or `prefix-*`; an exact name
 * wins over a scope, a scope over a prefix. A package in none of them is `other`.
 */
export const PACKAGE_RULES: Readonly<Record<string, PackageRule>> = {
  // Fastify
  fastify: fastify('core'),
  'find-my-way': fastify('router'),
  avvio: fastify('plugin loader'),
  'light-my-request': fastify('inject'),
  'fastify-plugin': fastify(),
  '@fastify/*': fastify(),
  'fast-json-stringify': fastify('response serializer'),
  'secure-json-parse': fastify('JSON body parser'),
  'fast-querystring': fastify('query string parser'),
  'fast-decode-uri-component': fastify(),
  'toad-cache': fastify(),
  'safe-regex2': fastify(),
  ret: fastify(),
  rfdc: fastify(),
  dequal: fastify(),
  'json-schema-ref-resolver': fastify(),
  'abstract-logging': fastify(),
  'process-warning': fastify(),
  fastq: fastify(),
  reusify: fastify(),
  semver: fastify(),
  'set-cookie-parser': fastify(),
  pino: fastify('logger'),
  '@pinojs/*': fastify('logger'),
  'pino-std-serializers': fastify('logger'),
  'pino-abstract-transport': fastify('logger'),
  'sonic-boom': fastify('logger'),
  'thread-stream': fastify('logger'),
  'quick-format-unescaped': fastify('logger'),
  'atomic-sleep': fastify('logger'),
  'on-exit-leak-free': fastify('logger'),
  'real-require': fastify('logger'),
  'safe-stable-stringify': fastify('logger'),

  // Validation
  '@fastify/ajv-compiler': { category: 'validation', partOf: 'Fastify', role: 'schema compiler' },
  ajv: { category: 'validation', partOf: 'Ajv', role: 'JSON-schema validator' },
  'ajv-formats': { category: 'validation', partOf: 'Ajv' },
  'json-schema-traverse': { category: 'validation', partOf: 'Ajv' },
  'require-from-string': { category: 'validation', partOf: 'Ajv' },
  'class-validator': { category: 'validation', partOf: 'class-validator', role: 'DTO validation' },
  validator: { category: 'validation', partOf: 'class-validator' },
  'libphonenumber-js': { category: 'validation', partOf: 'class-validator' },

  // Express
  express: express('core'),
  router: express('router'),
  'body-parser': express('body parser'),
  'raw-body': express('body parser'),
  'iconv-lite': express(),
  'safer-buffer': express(),
  finalhandler: express(),
  send: express(),
  'serve-static': express(),
  accepts: express(),
  negotiator: express(),
  'type-is': express(),
  'media-typer': express(),
  'mime-types': express(),
  'mime-db': express(),
  'content-disposition': express(),
  'content-type': express(),
  'cookie-signature': express(),
  etag: express(),
  fresh: express(),
  depd: express(),
  encodeurl: express(),
  'escape-html': express(),
  'http-errors': express(),
  statuses: express(),
  'on-finished': express(),
  'ee-first': express(),
  parseurl: express(),
  'proxy-addr': express(),
  forwarded: express(),
  qs: express('query string parser'),
  'range-parser': express(),
  'merge-descriptors': express(),
  unpipe: express(),
  bytes: express(),
  setprototypeof: express(),
  toidentifier: express(),
  inherits: express(),
  once: express(),
  wrappy: express(),
  'is-promise': express(),
  'side-channel': express(),
  'side-channel-list': express(),
  'side-channel-map': express(),
  'side-channel-weakmap': express(),
  'object-inspect': express(),
  'get-intrinsic': express(),
  'call-bound': express(),
  'call-bind-apply-helpers': express(),
  'dunder-proto': express(),
  'es-define-property': express(),
  'es-errors': express(),
  'es-object-atoms': express(),
  'function-bind': express(),
  'get-proto': express(),
  gopd: express(),
  'has-symbols': express(),
  hasown: express(),
  'math-intrinsics': express(),
  'async-function': express(),
  'async-generator-function': express(),
  'generator-function': express(),

  // NestJS
  '@nestjs/*': nest(),
  rxjs: nest('observables'),
  'class-transformer': nest('DTO transformation'),
  iterare: nest(),
  uid: nest(),
  '@lukeed/*': nest(),
  'load-esm': nest(),
  'fast-safe-stringify': nest(),
  multer: nest(),
  'append-field': nest(),
  busboy: nest(),
  streamsearch: nest(),
  cors: nest(),
  'object-assign': nest(),
  'file-type': nest(),
  strtok3: nest(),
  'token-types': nest(),
  '@tokenizer/*': nest(),
  '@borewit/*': nest(),
  'uint8array-extras': nest(),
  ieee754: nest(),
  '@standard-schema/*': nest(),

  // ORMs
  'drizzle-orm': { category: 'orm', partOf: 'drizzle-orm' },
  typeorm: typeorm('core'),
  '@sqltools/*': typeorm(),
  'sql-highlight': typeorm(),
  dayjs: typeorm(),
  dedent: typeorm(),
  ansis: typeorm(),
  tinyglobby: typeorm(),
  fdir: typeorm(),
  picomatch: typeorm(),
  yargs: typeorm(),
  'yargs-parser': typeorm(),
  cliui: typeorm(),
  y18n: typeorm(),
  escalade: typeorm(),
  'get-caller-file': typeorm(),
  'string-width': typeorm(),
  'strip-ansi': typeorm(),
  'ansi-regex': typeorm(),
  'ansi-styles': typeorm(),
  'wrap-ansi': typeorm(),
  'emoji-regex': typeorm(),
  'get-east-asian-width': typeorm(),

  // node-postgres
  pg: pg('client'),
  'pg-pool': pg('pool'),
  'pg-protocol': pg('wire protocol'),
  'pg-types': pg('type parsers'),
  'pg-connection-string': pg(),
  'pg-int8': pg(),
  'pg-cloudflare': pg(),
  'pg-native': pg(),
  'pg-cursor': pg(),
  'pg-query-stream': pg(),
  pgpass: pg(),
  'postgres-*': pg('type parsers'),
  xtend: pg(),

  // Shared by several products: charged to the caller.
  'path-to-regexp': shared(['Express', 'NestJS'], 'route patterns'),
  vary: shared(['Express', 'NestJS']),
  cookie: shared(['Express', 'Fastify']),
  'ipaddr.js': shared(['Express', 'Fastify']),
  'fast-deep-equal': shared(['Ajv', 'Fastify']),
  'fast-uri': shared(['Ajv', 'Fastify']),
  debug: shared(['Express', 'TypeORM', 'NestJS']),
  ms: shared(['Express', 'TypeORM', 'NestJS']),
  tslib: shared(['NestJS', 'TypeORM']),
  'reflect-metadata': shared(['NestJS', 'TypeORM']),
  split2: shared(['node-postgres', 'Fastify']),

  // What the labs (@stackbench/lab) bring into every app: their time is the lab's, so it counts as the project's.
  ioredis: lab('Redis client (cache lab)'),
  'cluster-key-slot': lab('Redis client (cache lab)'),
  denque: lab('Redis client (cache lab)'),
  'redis-errors': lab('Redis client (cache lab)'),
  'standard-as-callback': lab('Redis client (cache lab)'),
  'lru-cache': lab('in-process cache (cache lab)'),
  piscina: lab('worker pool (cpu lab)'),
  '@napi-rs/*': lab('worker pool (cpu lab)'),
  undici: lab('HTTP client (fan-out lab)'),

  // The project itself, when reached through node_modules (workspace links without symlink resolution).
  '@stackbench/*': { category: 'app', partOf: 'stackbench' },
};

/** The rule for an npm package name, or null when the table has none. */
export function packageRule(name: string): PackageRule | null {
  const exact = PACKAGE_RULES[name];
  if (exact) return exact;
  const slash = name.indexOf('/');
  if (name.startsWith('@') && slash > 0) {
    const scoped = PACKAGE_RULES[`${name.slice(0, slash)}/*`];
    if (scoped) return scoped;
  }
  let best: { length: number; rule: PackageRule } | null = null;
  for (const [key, rule] of Object.entries(PACKAGE_RULES)) {
    if (!key.endsWith('-*')) continue;
    const prefix = key.slice(0, -1);
    if (name.startsWith(prefix) && (!best || prefix.length > best.length)) best = { length: prefix.length, rule };
  }
  return best?.rule ?? null;
}

/** Node.js built-in modules (the part of a `node:` URL after the scheme) of the HTTP server: always `node-http`. */
export const NODE_HTTP_MODULES: readonly string[] = [
  'http',
  'https',
  '_http_agent',
  '_http_client',
  '_http_common',
  '_http_incoming',
  '_http_outgoing',
  '_http_server',
  'internal/http',
];

/**
 * Node's socket and stream modules (a key ending in `/` covers the directory). They carry the HTTP server's traffic
 * and the PostgreSQL connection's alike, so they are charged to their caller when it is outside Node.js (the pg
 * driver writing a query is `pg-driver`), and are `node-http` when Node itself (the HTTP server, the event loop)
 * called them. Every other `node:` module is `node-other`.
 */
export const NODE_SOCKET_MODULES: readonly string[] = [
  'net',
  'internal/net',
  'stream',
  'internal/streams/',
  'internal/stream_base_commons',
  'internal/js_stream_socket',
];

/** V8's pseudo-frames (no URL), by function name. */
export const PSEUDO_FRAMES: Readonly<Record<string, Category>> = {
  '(garbage collector)': 'gc',
  '(idle)': 'idle',
  '(program)': 'program',
  '(root)': 'program',
};
