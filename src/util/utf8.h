/* UTF-8 validation shared by the writers that must emit valid text (JSON, XML/SVG/HTML). */
#ifndef PK_UTIL_UTF8_H
#define PK_UTIL_UTF8_H

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no UTF-16
 * surrogates, nothing above U+10FFFF), or 0 when there is none. p is NUL-terminated: a
 * sequence cut short stops at the NUL, which is not a continuation byte. */
static inline int utf8_seq_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	int n;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80; /* overlong */
		hi = p[0] == 0xed ? 0x9f : 0xbf; /* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80; /* overlong */
		hi = p[0] == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

#endif
