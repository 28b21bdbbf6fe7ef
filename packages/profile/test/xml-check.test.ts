import { describe, expect, it } from 'vitest';
import { escapeXml } from '../src/index.js';
import { parseXml } from './xml-check.js';

describe('the XML check the SVG tests rely on', () => {
  it('rejects what is not well-formed', () => {
    for (const bad of [
      '<a><b></a>',
      '<a x=1/>',
      '<a x="1" x="2"/>',
      '<a>&</a>',
      '<a>&nbsp;</a>',
      '<a x="<"/>',
      '<a/><b/>',
      '<a>',
      'text<a/>',
      '<a>1 < 2</a>',
    ]) {
      expect(() => parseXml(bad), bad).toThrow();
    }
  });

  it('accepts and decodes what escapeXml produces, whatever the input', () => {
    const nasty = `<&>"' \u0001 \uD800 ✓ 😀`;
    const el = parseXml(`<svg a="${escapeXml(nasty)}"><title>${escapeXml(nasty)}</title></svg>`);
    // Characters XML cannot carry (a control character, a lone surrogate) become U+FFFD; the rest survive.
    const expected = `<&>"' \uFFFD \uFFFD ✓ 😀`;
    expect(el.attrs.a).toBe(expected);
    expect(el.children[0]!.text).toBe(expected);
  });
});
