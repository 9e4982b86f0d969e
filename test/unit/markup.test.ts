// What an XMPP user reads when a Pidgin/bitlbee user of the reference plugin writes formatted text, and when a plain peer types "<" or "&".
import { describe, expect, it } from 'vitest';
import { decodeEntities, libpurpleToPlain, looksLikeMarkup } from '../../gateway/bridge/markup.js';

describe('libpurple markup becomes plain text', () => {
  it.each([
    ['line one<br>line two', 'line one\nline two'],
    ['a<br/>b<br />c<BR>d', 'a\nb\nc\nd'],
    ['<b>bold</b> <i>italic</i> <u>under</u> <s>gone</s>', 'bold italic under gone'],
    ['<font color="#ff0000" size="3">red</font>', 'red'],
    ['<FONT COLOR="#0000FF"><B>shouting</B></FONT>', 'shouting'],
    ['<span style="font-weight: bold;">x</span>', 'x'],
    ['<html><body>hi</body></html>', 'hi'],
    ['Tom &amp; Jerry &lt;3 &gt; &quot;q&quot; &apos;s&apos;', 'Tom & Jerry <3 > "q" \'s\''],
    ['two&nbsp; spaces', 'two  spaces'],
    ['&#233;t&#xE9; &#x1F600;', 'été 😀'],
    ['&copy; &reg;', '© ®'],
    ['<b>a &amp; b</b><br>&lt;c&gt;', 'a & b\n<c>'],
  ])('%j → %j', (input, plain) => {
    expect(libpurpleToPlain(input)).toBe(plain);
  });

  describe('links', () => {
    it('shows the target after the text when they differ', () => {
      expect(libpurpleToPlain('see <a href="https://example.org/x">the page</a>!')).toBe(
        'see the page (https://example.org/x)!',
      );
    });
    it('shows the address once when the text is the address', () => {
      expect(libpurpleToPlain('<a href="https://example.org">https://example.org</a>')).toBe('https://example.org');
    });
    it('does not repeat what Pidgin auto-linked ("www.x.org" → "http://www.x.org", mailto:)', () => {
      expect(libpurpleToPlain('go to <A HREF="http://www.example.org">www.example.org</A>')).toBe('go to www.example.org');
      expect(libpurpleToPlain("<a href='mailto:bob@example.org'>bob@example.org</a>")).toBe('bob@example.org');
    });
    it('decodes entities in the target and keeps formatting inside the text out', () => {
      expect(libpurpleToPlain('<a href="https://x.org/?a=1&amp;b=2"><b>q</b></a>')).toBe('q (https://x.org/?a=1&b=2)');
    });
    it('uses the target when the text is empty and the text when there is no target', () => {
      expect(libpurpleToPlain('<a href="https://x.org"></a>')).toBe('https://x.org');
      expect(libpurpleToPlain('<a name="top">here</a>')).toBe('here');
    });
  });

  it('separates paragraphs and shows an image by its alt text', () => {
    expect(libpurpleToPlain('<p>one</p><p>two</p>')).toBe('one\ntwo');
    expect(libpurpleToPlain('intro<div>body</div>end')).toBe('intro\nbody\nend');
    expect(libpurpleToPlain('look <img src="x.png" alt="cat"> <IMG ID="3">')).toBe('look cat [image]');
  });
});

describe('plain text stays as typed', () => {
  it.each([
    'a < b and c > d',
    'x&y',
    '<3',
    'AT&T',
    'fish & chips; salt',
    '&unknown; &amp &#; &#xZZ; &#0; &#xD800; &#x110000;',
    'if (a<b && b>c) return;',
    '<not a tag>',
    '<custom>hello</custom>',
    'I use <b> to make text bold',
    'a </i> stray close',
    '</b x>',
    '< b>spaced</b>',
    'C:\\path\\to <file>',
    '',
    'multi\nline\r\nwith CR LF',
  ])('%j', (text) => {
    expect(libpurpleToPlain(text)).toBe(text);
    expect(looksLikeMarkup(text)).toBe(false);
  });

  it('converts the markup but keeps the stray "<" next to it', () => {
    expect(libpurpleToPlain('<b>a < b</b>')).toBe('a < b');
    expect(libpurpleToPlain('x&y<br>z')).toBe('x&y\nz');
  });
});

describe('looksLikeMarkup', () => {
  it('is true for what libpurple writes', () => {
    expect(looksLikeMarkup('a<br>b')).toBe(true);
    expect(looksLikeMarkup('Tom &amp; Jerry')).toBe(true);
    expect(looksLikeMarkup('<b>x</b>')).toBe(true);
  });
});

describe('decodeEntities', () => {
  it('decodes only well-formed references', () => {
    expect(decodeEntities('&lt;&LT;&lt')).toBe('<&LT;&lt');
  });
});
