/* Helpers that every report format shares: values with units, escaping, sparklines. */
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include "output/report.h"

/* ---- sparklines -------------------------------------------------------------------------- */

static double bucket_mean(const double *v, size_t from, size_t to)
{
	double sum = 0;
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		if (!isnan(v[i])) {
			sum += v[i];
			n++;
		}
	return n ? sum / (double)n : NAN;
}

void report_sparkline(struct strbuf *sb, const double *v, size_t n, size_t width)
{
	if (!n || !width)
		return;
	if (width > n)
		width = n;
	double *m = malloc(width * sizeof(*m));
	if (!m)
		return;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < width; i++) {
		m[i] = bucket_mean(v, i * n / width, (i + 1) * n / width);
		lo = fmin(lo, m[i]);
		hi = fmax(hi, m[i]);
	}
	for (size_t i = 0; isfinite(lo) && i < width; i++) {
		if (isnan(m[i])) {
			sb_addc(sb, ' ');
			continue;
		}
		double x = hi > lo ? (m[i] - lo) / (hi - lo) : 0; /* NAN when the span overflows */
		int level = x > 0 ? (int)lround(fmin(x, 1) * 7) : 0;
		char block[3] = { '\xe2', '\x96', (char)(0x81 + level) }; /* U+2581 + level */
		sb_add(sb, block, 3);
	}
	free(m);
}

/* ---- values ------------------------------------------------------------------------------ */

void report_add_value(struct strbuf *sb, enum value_unit unit, double v)
{
	if (isnan(v)) {
		sb_addc(sb, '-');
		return;
	}
	switch (unit) {
	case UNIT_SECONDS:
		sb_addf(sb, "%.2f s", v);
		break;
	case UNIT_PERCENT:
		sb_addf(sb, "%.1f", v);
		break;
	case UNIT_BYTES:
		sb_add_bytes(sb, v);
		break;
	case UNIT_COUNT:
		sb_addf(sb, "%.0f", v);
		break;
	case UNIT_JOULES:
		sb_addf(sb, "%.1f J", v);
		break;
	case UNIT_WATTS:
		sb_addf(sb, "%.2f W", v);
		break;
	}
}

const char *report_unit_name(enum value_unit u)
{
	static const char *const names[] = { "s", "%", "bytes", "count", "J", "W" };
	return names[u];
}

double report_mb_per_hour(double bytes_per_s) { return bytes_per_s * 3600 / 1e6; }

void report_add_late(struct strbuf *sb, const struct leak_late *w)
{
	sb_addf(sb, "%s %+.1f (%+.1f .. %+.1f) MB/hour; growth ", leak_share_name(w->depth),
		report_mb_per_hour(w->fit.slope), report_mb_per_hour(w->fit.ci_lo),
		report_mb_per_hour(w->fit.ci_hi));
	sb_addc(sb, w->growth < 0 ? '-' : '+');
	sb_add_bytes(sb, fabs(w->growth));
	sb_addf(sb, " = %+.1f%% of its mean ", w->growth_rel * 100);
	sb_add_bytes(sb, w->mean);
	sb_addf(sb, "; %s ", leak_share_name(w->depth + 1));
	if (w->have_check)
		sb_addf(sb, "%+.1f (%+.1f .. %+.1f) MB/hour", report_mb_per_hour(w->check.slope),
			report_mb_per_hour(w->check.ci_lo), report_mb_per_hour(w->check.ci_hi));
	else
		sb_adds(sb, "too few samples");
	sb_adds(sb, "; ends at ");
	sb_add_bytes(sb, w->end);
	sb_adds(sb, ", earlier peak ");
	sb_add_bytes(sb, w->peak_before);
}

void report_add_time(struct strbuf *sb, double epoch)
{
	struct tm tm;
	/* A made-up file may hold any number: only a plausible time is converted. */
	time_t t = fabs(epoch) < 1e12 ? (time_t)epoch : 0;
	if (!(fabs(epoch) < 1e12) || !gmtime_r(&t, &tm)) {
		sb_addc(sb, '-');
		return;
	}
	char buf[64];
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	sb_adds(sb, buf);
}

const char *report_kind_name(enum entity_kind k)
{
	return k == ENTITY_TREE ? "tree" : k == ENTITY_GROUP ? "group" : "process";
}

/* ---- escaping ---------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (not overlong, no surrogates), or 0. */
static int utf8_seq(const unsigned char *p)
{
	int n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (p[0] >= 0xf5)
		n = 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

static void add_hex_byte(struct strbuf *sb, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
	sb_add(sb, e, 4);
}

/* Walks s: valid multi-byte sequences are copied, ASCII goes to plain(), the rest becomes
 * \xNN. */
static void add_escaped(struct strbuf *sb, const char *s, void (*plain)(struct strbuf *, char))
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p >= 0x80) {
			int n = utf8_seq(p);
			if (n) {
				sb_add(sb, p, (size_t)n);
				p += n;
			} else {
				add_hex_byte(sb, *p++);
			}
		} else if (*p < 0x20 || *p == 0x7f) {
			add_hex_byte(sb, *p++);
		} else {
			plain(sb, (char)*p++);
		}
	}
}

static void plain_text(struct strbuf *sb, char c) { sb_addc(sb, c); }

static void plain_markdown(struct strbuf *sb, char c)
{
	switch (c) {
	case '<':
		sb_adds(sb, "&lt;");
		return;
	case '>':
		sb_adds(sb, "&gt;");
		return;
	case '&':
		sb_adds(sb, "&amp;");
		return;
	case '|':
	case '\\':
	case '`':
	case '*':
	case '_':
	case '[':
	case ']':
	case '#':
	case '~':
	case '!':
	case '(':
	case ')':
		sb_addc(sb, '\\');
		sb_addc(sb, c);
		return;
	default:
		sb_addc(sb, c);
	}
}

void report_add_text(struct strbuf *sb, const char *s) { add_escaped(sb, s ? s : "", plain_text); }

void report_add_markdown(struct strbuf *sb, const char *s)
{
	add_escaped(sb, s ? s : "", plain_markdown);
}
