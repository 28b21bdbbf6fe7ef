/** The API's routes. A request to a known path with another method is 405 with an `Allow` header. */
export const ROUTES = [
  { method: 'GET', path: '/health', name: 'health' },
  { method: 'GET', path: '/products', name: 'list' },
  { method: 'GET', path: '/products/:id', name: 'product' },
  { method: 'POST', path: '/orders', name: 'order' },
  { method: 'GET', path: '/orders/:id', name: 'order_view' },
] as const;

/** Paths are exact: no trailing slash, no case folding. `:id` matches one non-empty path segment. */
export function matchRoutePath(pathname: string): { pattern: string; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    const want = route.path.split('/');
    const got = pathname.split('/');
    if (want.length !== got.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      const g = got[i]!;
      if (w.startsWith(':')) {
        if (g === '') ok = false;
        else params[w.slice(1)] = g;
      } else if (w !== g) ok = false;
      if (!ok) break;
    }
    if (ok) return { pattern: route.path, params };
  }
  return undefined;
}

/** Methods allowed on a route pattern, for the `Allow` header of a 405. */
export function allowedMethods(pattern: string): string[] {
  return ROUTES.filter((r) => r.path === pattern).map((r) => r.method);
}
