/**
 * The lab's routes, all GET. They exist only in an app started for a lab (`AppConfig.lab`); otherwise every `/lab/...`
 * path is the contract's 404. Like the contract's paths they are exact, and a known path with another method is 405
 * with `Allow: GET`.
 */
export const LAB_ROUTES = [
  { name: 'simple', path: '/lab/simple' },
  { name: 'wait', path: '/lab/wait' },
  { name: 'cpu', path: '/lab/cpu' },
  { name: 'fanout', path: '/lab/fanout' },
  { name: 'pbkdf2', path: '/lab/pbkdf2' },
  { name: 'products', path: '/lab/products' },
  { name: 'cacheProduct', path: '/lab/cache/products/:id' },
  { name: 'cacheStats', path: '/lab/cache/stats' },
] as const;

export type LabRouteName = (typeof LAB_ROUTES)[number]['name'];

export const LAB_ALLOW = ['GET'] as const;

const CACHE_PRODUCT_PREFIX = '/lab/cache/products/';
const BY_PATH = new Map<string, LabRouteName>(LAB_ROUTES.filter((r) => !r.path.includes(':')).map((r) => [r.path, r.name]));

/** The lab route of a request path (before percent-decoding), with its raw `:id`; undefined for any other path. */
export function matchLabRoute(pathname: string): { name: LabRouteName; pattern: string; params: { id?: string } } | undefined {
  const name = BY_PATH.get(pathname);
  if (name) return { name, pattern: pathname, params: {} };
  if (pathname.startsWith(CACHE_PRODUCT_PREFIX)) {
    const id = pathname.slice(CACHE_PRODUCT_PREFIX.length);
    if (id !== '' && !id.includes('/')) return { name: 'cacheProduct', pattern: '/lab/cache/products/:id', params: { id } };
  }
  return undefined;
}
