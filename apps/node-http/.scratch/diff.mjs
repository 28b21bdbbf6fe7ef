import { send } from '@stackbench/contract/suite';
const [a, b] = process.argv.slice(2);
const J = { 'content-type': 'application/json' };
const cases = [
  { method: 'GET', path: '/products/%ZZ' },
  { method: 'POST', path: '/products/%ZZ' },
  { method: 'GET', path: '/%70roducts' },
  { method: 'GET', path: '/products/%31' },
  { method: 'GET', path: '/products/1?x=1' },
  { method: 'GET', path: '/products?' },
  { method: 'GET', path: '/products?limit=2&after=%33' },
  { method: 'GET', path: '/products?limit=+2' },
  { method: 'GET', path: '/products?limit' },
  { method: 'GET', path: '/products?limit=1&limit=' },
  { method: 'GET', path: '/health?x' },
  { method: 'GET', path: '/health#x' },
  { method: 'HEAD', path: '/health' },
  { method: 'HEAD', path: '/products/1' },
  { method: 'HEAD', path: '/orders' },
  { method: 'HEAD', path: '/nope' },
  { method: 'OPTIONS', path: '/health' },
  { method: 'OPTIONS', path: '/orders' },
  { method: 'DELETE', path: '/products/abc' },
  { method: 'GET', path: '//products' },
  { method: 'GET', path: '/products//1' },
  { method: 'POST', path: '/orders', headers: J },
  { method: 'POST', path: '/orders', headers: J, body: '' },
  { method: 'POST', path: '/orders', headers: J, body: '', chunked: true },
  { method: 'POST', path: '/orders', headers: J, body: ' ' },
  { method: 'POST', path: '/orders', headers: J, body: '{}' },
  { method: 'POST', path: '/orders', headers: J, body: '{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json;' }, body: '{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: { 'content-type': ' application/json ' }, body: '{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: { 'content-type': 'application/jsonx' }, body: '{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(20000) },
  { method: 'POST', path: '/orders', headers: J, body: '{"productId":1,"quantity":1,"productId":2}' },
  { method: 'POST', path: '/orders', headers: J, body: '{"__proto__":{"a":1},"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: J, body: '{"constructor":{"prototype":{"a":1}},"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: J, body: '\ufeff{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders', headers: J, body: '{"productId":1,"quantity":1e0}' },
  { method: 'POST', path: '/orders', headers: J, body: '{"productId":1,"quantity":1.0}' },
  { method: 'POST', path: '/orders', headers: J, body: '{"productId":1,"quantity":1} x' },
  { method: 'POST', path: '/orders', headers: J, body: JSON.stringify({ productId: 1, quantity: 1, pad: 'x'.repeat(16300) }) },
  { method: 'POST', path: '/orders', headers: { ...J, 'content-encoding': 'gzip' }, body: '{"productId":1,"quantity":1}' },
  { method: 'POST', path: '/orders?x=1', headers: J, body: '{"productId":1,"quantity":1}' },
];
let diffs = 0;
for (const c of cases) {
  const [ra, rb] = [await send(a, c).catch((e) => ({ status: 'ERR ' + e.message, text: '', headers: {} })), await send(b, c).catch((e) => ({ status: 'ERR ' + e.message, text: '', headers: {} }))];
  const fa = `${ra.status} ${ra.text} allow=${ra.headers.allow ?? ''} ct=${ra.headers['content-type'] ?? ''} cl=${ra.headers['content-length'] ?? ''}`;
  const fb = `${rb.status} ${rb.text} allow=${rb.headers.allow ?? ''} ct=${rb.headers['content-type'] ?? ''} cl=${rb.headers['content-length'] ?? ''}`;
  const label = `${c.method} ${c.path} ${c.headers?.['content-type'] ?? ''} ${c.body === undefined ? '(no body)' : JSON.stringify(c.body).slice(0, 50)}${c.chunked ? ' chunked' : ''}`;
  if (fa === fb) console.log('same ', label, '=>', fa.slice(0, 140));
  else { diffs++; console.log('DIFF ', label, '\n   A:', fa.slice(0, 200), '\n   B:', fb.slice(0, 200)); }
}
console.log(diffs, 'differences');
