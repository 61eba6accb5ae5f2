#include "output/flamegraph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/folded.h"
#include "output/xml.h"

#define FRAME_H 16    /* pixels per stack level */
#define TOP 64        /* title, subtitle, buttons */
#define BOTTOM 28     /* details line */
#define PAD 10        /* left and right margin */
#define FONT_PX 12
#define CHAR_W 7      /* average glyph width at FONT_PX, for fitting labels */
#define NO_FRAME UINT32_MAX

/* The call tree: node 0 is the root ("all"); children are a linked list, sorted by label
 * before drawing. */
struct node {
	uint32_t frame; /* NO_FRAME for the root */
	uint32_t first_child, next; /* 0: none (the root is never a child) */
	uint64_t total;
};

struct tree {
	struct node *nodes;
	size_t n, cap;
	uint32_t *index; /* (parent, frame) -> node, open addressing; 0: empty */
	size_t index_cap;
	unsigned max_depth;
};

static uint32_t child_hash(uint32_t parent, uint32_t frame)
{
	uint64_t x = (uint64_t)parent << 32 | frame;
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	return (uint32_t)x;
}

/* The parent of each node is needed only while building; it is kept alongside. */
static int tree_rehash(struct tree *t, const uint32_t *parent)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 1024;
	uint32_t *ix = calloc(cap, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	for (uint32_t i = 1; i < t->n; i++) {
		size_t j = child_hash(parent[i], t->nodes[i].frame) & (cap - 1);
		while (ix[j])
			j = (j + 1) & (cap - 1);
		ix[j] = i;
	}
	free(t->index);
	t->index = ix;
	t->index_cap = cap;
	return 0;
}

static int tree_build(struct tree *t, const struct stack_profile *p, const uint64_t *w)
{
	size_t nstacks = stack_profile__nstacks(p);
	uint32_t *parent = NULL;
	t->cap = 256;
	t->nodes = malloc(t->cap * sizeof(*t->nodes));
	parent = malloc(t->cap * sizeof(*parent));
	if (!t->nodes || !parent)
		goto nomem;
	t->nodes[0] = (struct node){ .frame = NO_FRAME };
	parent[0] = 0;
	t->n = 1;
	if (tree_rehash(t, parent) < 0)
		goto nomem;
	for (uint32_t s = 0; s < nstacks; s++) {
		if (!w[s])
			continue;
		size_t depth;
		const uint32_t *ids = stack_profile__stack_get(p, s, &depth);
		uint32_t cur = 0;
		t->nodes[0].total += w[s];
		if (depth > t->max_depth)
			t->max_depth = (unsigned)depth;
		for (size_t k = 0; k < depth; k++) {
			uint32_t h = child_hash(cur, ids[k]);
			size_t j = h & (t->index_cap - 1);
			for (; t->index[j]; j = (j + 1) & (t->index_cap - 1)) {
				uint32_t c = t->index[j];
				if (parent[c] == cur && t->nodes[c].frame == ids[k])
					break;
			}
			uint32_t c = t->index[j];
			if (!c) {
				if (t->n == UINT32_MAX - 1)
					goto nomem;
				if (t->n == t->cap) {
					size_t cap = t->cap * 2;
					struct node *nn = realloc(t->nodes, cap * sizeof(*nn));
					if (!nn)
						goto nomem;
					t->nodes = nn;
					uint32_t *np = realloc(parent, cap * sizeof(*np));
					if (!np)
						goto nomem;
					parent = np;
					t->cap = cap;
				}
				c = (uint32_t)t->n++;
				t->nodes[c] = (struct node){ .frame = ids[k],
							     .next = t->nodes[cur].first_child };
				t->nodes[cur].first_child = c;
				parent[c] = cur;
				t->index[j] = c;
				if (t->n * 4 >= t->index_cap * 3 && tree_rehash(t, parent) < 0)
					goto nomem;
			}
			t->nodes[c].total += w[s];
			cur = c;
		}
	}
	free(parent);
	return 0;
nomem:
	free(parent);
	return -ENOMEM;
}

struct render {
	struct strbuf *out;
	const struct stack_profile *p;
	struct tree *t;
	struct strbuf labels; /* every frame's label, NUL-separated */
	size_t *label_off;    /* per frame id */
	uint64_t total;
	double scale;         /* pixels per µs */
	double min_width;
	unsigned height;
};

static const char *label_of(const struct render *r, uint32_t frame)
{
	return r->labels.buf + r->label_off[frame];
}

static int cmp_child(const void *a, const void *b, void *arg)
{
	const struct render *r = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(label_of(r, r->t->nodes[x].frame), label_of(r, r->t->nodes[y].frame));
	if (c)
		return c;
	/* Same label, different frames (a module the label does not show): by frame id. */
	return (r->t->nodes[x].frame > r->t->nodes[y].frame) -
	       (r->t->nodes[x].frame < r->t->nodes[y].frame);
}

static int sort_children(struct render *r)
{
	struct tree *t = r->t;
	uint32_t *buf = malloc(t->n * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t n = 0;
		for (uint32_t c = t->nodes[i].first_child; c; c = t->nodes[c].next)
			buf[n++] = c;
		if (n < 2)
			continue;
		qsort_r(buf, n, sizeof(*buf), cmp_child, r);
		t->nodes[i].first_child = buf[0];
		for (size_t k = 0; k < n; k++)
			t->nodes[buf[k]].next = k + 1 < n ? buf[k + 1] : 0;
	}
	free(buf);
	return 0;
}

void flamegraph_add_duration(struct strbuf *out, uint64_t us)
{
	if (us < 1000) {
		sb_add_u64(out, us);
		sb_adds(out, " \xc2\xb5s");
	} else if (us < 1000000) {
		sb_add_fixed(out, (double)us / 1e3, 2);
		sb_adds(out, " ms");
	} else {
		sb_add_fixed(out, (double)us / 1e6, 2);
		sb_adds(out, " s");
	}
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* A shade within [base, base + span] picked by one byte of the hash. */
static unsigned shade(uint32_t h, int byte, unsigned base, unsigned span)
{
	return base + ((h >> (8 * byte)) & 0xff) * span / 255;
}

static void add_fill(struct strbuf *out, const struct stack_frame *f)
{
	uint32_t h = name_hash(f->name);
	unsigned rgb[3];
	if (f->state == STATE_OFF_CPU) { /* blue */
		rgb[0] = shade(h, 0, 40, 60), rgb[1] = shade(h, 1, 110, 70), rgb[2] = shade(h, 2, 200, 55);
	} else if (f->kind == FRAME_PYTHON) { /* green */
		rgb[0] = shade(h, 0, 60, 60), rgb[1] = shade(h, 1, 170, 60), rgb[2] = shade(h, 2, 60, 50);
	} else if (f->kind == FRAME_MARKER) { /* grey */
		rgb[0] = rgb[1] = shade(h, 0, 160, 40), rgb[2] = rgb[0] + 10;
	} else if (f->kind == FRAME_KERNEL) { /* orange */
		rgb[0] = shade(h, 0, 215, 40), rgb[1] = shade(h, 1, 120, 60), rgb[2] = shade(h, 2, 20, 30);
	} else { /* warm: red to yellow */
		rgb[0] = shade(h, 0, 205, 50), rgb[1] = shade(h, 1, 40, 160), rgb[2] = shade(h, 2, 20, 40);
	}
	sb_addf(out, "rgb(%u,%u,%u)", rgb[0], rgb[1], rgb[2]);
}

/* The label text that fits in w pixels, as the script computes it: "" when fewer than 3
 * characters fit, else the name, cut with ".." when longer. */
static void add_fitted_label(struct strbuf *out, const char *name, double w)
{
	double fit = (w - 6) / CHAR_W;
	if (fit < 3)
		return;
	size_t n = (size_t)fit;
	if (xml_char_count(name) <= n) {
		xml_add_escaped(out, name, SIZE_MAX);
	} else {
		xml_add_escaped(out, name, n - 2);
		sb_adds(out, "..");
	}
}

static void add_share(struct render *r, uint64_t w)
{
	flamegraph_add_duration(r->out, w);
	sb_adds(r->out, " (");
	sb_add_fixed(r->out, r->total ? 100.0 * (double)w / (double)r->total : 0, 2);
	sb_adds(r->out, "%)");
}

/* One box: <g><title>NAME\nDETAILS</title><rect/><text>LABEL</text></g>. */
static void draw_box(struct render *r, const char *cls, const char *name,
		     const struct stack_frame *f, const char *fill, uint64_t total, uint64_t self,
		     const char *module, double x, double w, unsigned depth)
{
	struct strbuf *out = r->out;
	unsigned y = r->height - BOTTOM - (depth + 1) * FRAME_H;
	sb_adds(out, cls ? "<g class=\"" : "<g");
	if (cls) {
		sb_adds(out, cls);
		sb_addc(out, '"');
	}
	sb_adds(out, "><title>");
	xml_add_escaped(out, name, SIZE_MAX);
	sb_addc(out, '\n');
	add_share(r, total);
	if (self > 0 && self < total) {
		sb_adds(out, ", self ");
		flamegraph_add_duration(out, self);
	}
	if (module) {
		sb_adds(out, "\nmodule ");
		xml_add_escaped(out, module, SIZE_MAX);
	}
	sb_adds(out, "</title><rect x=\"");
	sb_add_fixed(out, x, 2);
	sb_addf(out, "\" y=\"%u\" width=\"", y);
	sb_add_fixed(out, w, 2);
	sb_addf(out, "\" height=\"%u\" fill=\"", FRAME_H - 1);
	if (f)
		add_fill(out, f);
	else
		sb_adds(out, fill);
	sb_adds(out, "\"/><text x=\"");
	sb_add_fixed(out, x + 3, 2);
	sb_addf(out, "\" y=\"%u\">", y + FRAME_H - 4);
	add_fitted_label(out, name, w);
	sb_adds(out, "</text></g>\n");
}

/* Draws a run of `count` merged narrow siblings. */
static void draw_elided(struct render *r, size_t count, uint64_t weight, uint64_t offset,
			unsigned depth)
{
	double w = (double)weight * r->scale;
	if (count == 0 || w < r->min_width)
		return;
	char name[64];
	snprintf(name, sizeof(name), "[%zu narrow frames]", count);
	draw_box(r, "pk-elided", name, NULL, "rgb(205,205,205)", weight, weight, NULL,
		 PAD + (double)offset * r->scale, w, depth);
}

static void draw_node(struct render *r, uint32_t id, uint64_t offset, unsigned depth)
{
	const struct node *n = &r->t->nodes[id];
	uint64_t children = 0;
	for (uint32_t c = n->first_child; c; c = r->t->nodes[c].next)
		children += r->t->nodes[c].total;
	double x = PAD + (double)offset * r->scale, w = (double)n->total * r->scale;
	if (n->frame == NO_FRAME) {
		draw_box(r, "pk-root", "all", NULL, "rgb(190,190,200)", n->total,
			 n->total - children, NULL, x, w, depth);
	} else {
		const struct stack_frame *f = stack_profile__frame_get(r->p, n->frame);
		/* The label shows a Python frame's file; other modules go in the tooltip. */
		const char *module = f->kind == FRAME_PYTHON ? NULL : f->module;
		draw_box(r, NULL, label_of(r, n->frame), f, NULL, n->total, n->total - children,
			 module, x, w, depth);
	}
	size_t run = 0;
	uint64_t run_weight = 0, run_offset = 0;
	for (uint32_t c = n->first_child; c; c = r->t->nodes[c].next) {
		uint64_t cw = r->t->nodes[c].total;
		if ((double)cw * r->scale < r->min_width) {
			if (!run)
				run_offset = offset;
			run++;
			run_weight += cw;
		} else {
			draw_elided(r, run, run_weight, run_offset, depth + 1);
			run = 0;
			run_weight = 0;
			draw_node(r, c, offset, depth + 1);
		}
		offset += cw;
	}
	draw_elided(r, run, run_weight, run_offset, depth + 1);
}

/* The script: zoom, search, details. It only moves, hides and recolours the boxes that
 * are there, and reads names from their <title>; it never builds markup from text. */
static const char script[] =
	"'use strict';\n"
	"var pk = { frames: [], zoomed: null, term: null };\n"
	"function pkInit(evt) {\n"
	"  pk.doc = evt.target.ownerDocument || document;\n"
	"  var root = pk.doc.getElementById('pk-frames');\n"
	"  pk.pad = +root.getAttribute('data-pad');\n"
	"  pk.width = +root.getAttribute('data-width');\n"
	"  pk.charw = +root.getAttribute('data-charw');\n"
	"  var gs = root.getElementsByTagName('g');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i], r = g.getElementsByTagName('rect')[0];\n"
	"    var lines = g.getElementsByTagName('title')[0].textContent.split('\\n');\n"
	"    var f = { g: g, r: r, t: g.getElementsByTagName('text')[0], name: lines[0],\n"
	"      info: lines.slice(1).join(', '), x: +r.getAttribute('x'),\n"
	"      w: +r.getAttribute('width'), y: +r.getAttribute('y'), fill: r.getAttribute('fill'),\n"
	"      plain: !g.getAttribute('class') };\n"
	"    pk.frames.push(f);\n"
	"    g.addEventListener('click', pkZoomer(f));\n"
	"    g.addEventListener('mouseover', pkShower(f));\n"
	"    g.addEventListener('mouseout', function () { pkDetails(' '); });\n"
	"  }\n"
	"  pk.doc.getElementById('pk-reset').addEventListener('click', pkUnzoom);\n"
	"  pk.doc.getElementById('pk-search').addEventListener('click', function () {\n"
	"    if (pk.term !== null) pkSearch(null); else pkAsk();\n"
	"  });\n"
	"  window.addEventListener('keydown', function (e) {\n"
	"    if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); pkAsk(); }\n"
	"    else if (e.key === 'Escape') { pkUnzoom(); pkSearch(null); }\n"
	"  });\n"
	"  pkLayout();\n"
	"}\n"
	"function pkZoomer(f) { return function () { pk.zoomed = f.plain ? f : null; pkLayout(); }; }\n"
	"function pkShower(f) { return function () { pkDetails(f.name + ': ' + f.info); }; }\n"
	"function pkDetails(s) { pk.doc.getElementById('pk-details').textContent = s; }\n"
	"function pkUnzoom() { pk.zoomed = null; pkLayout(); }\n"
	"function pkPlace(f, x, w) {\n"
	"  f.r.setAttribute('x', x.toFixed(2));\n"
	"  f.r.setAttribute('width', w.toFixed(2));\n"
	"  var n = Math.floor((w - 6) / pk.charw), s = '';\n"
	"  var chars = Array.from(f.name);\n"
	"  if (n >= 3) s = chars.length <= n ? f.name : chars.slice(0, n - 2).join('') + '..';\n"
	"  f.t.setAttribute('x', (x + 3).toFixed(2));\n"
	"  f.t.textContent = s;\n"
	"}\n"
	"function pkLayout() {\n"
	"  var z = pk.zoomed, eps = 0.02;\n"
	"  for (var i = 0; i < pk.frames.length; i++) {\n"
	"    var f = pk.frames[i], show = true, dim = false, x = f.x, w = f.w;\n"
	"    if (z && f.y >= z.y && f.x <= z.x + eps && f.x + f.w >= z.x + z.w - eps) {\n"
	"      x = pk.pad; w = pk.width; dim = f !== z;\n"
	"    } else if (z && f.y < z.y && f.x >= z.x - eps && f.x + f.w <= z.x + z.w + eps) {\n"
	"      var k = pk.width / z.w; x = pk.pad + (f.x - z.x) * k; w = f.w * k;\n"
	"    } else if (z) {\n"
	"      show = false;\n"
	"    }\n"
	"    f.g.style.display = show ? '' : 'none';\n"
	"    f.g.style.opacity = dim ? '0.6' : '';\n"
	"    if (show) pkPlace(f, x, w);\n"
	"  }\n"
	"  pk.doc.getElementById('pk-reset').style.display = z ? '' : 'none';\n"
	"}\n"
	"function pkAsk() {\n"
	"  var s = window.prompt('Search frames (regular expression):', pk.term || '');\n"
	"  if (s !== null) pkSearch(s === '' ? null : s);\n"
	"}\n"
	"function pkSearch(term) {\n"
	"  pk.term = term;\n"
	"  var re = null, spans = [];\n"
	"  if (term !== null) {\n"
	"    try { re = new RegExp(term); }\n"
	"    catch (e) { re = { test: function (s) { return s.indexOf(term) >= 0; } }; }\n"
	"  }\n"
	"  for (var i = 0; i < pk.frames.length; i++) {\n"
	"    var f = pk.frames[i], hit = re !== null && f.plain && re.test(f.name);\n"
	"    f.r.setAttribute('fill', hit ? 'rgb(224,64,251)' : f.fill);\n"
	"    if (hit) spans.push([f.x, f.x + f.w]);\n"
	"  }\n"
	"  pk.doc.getElementById('pk-search').textContent = re ? 'Reset search' : 'Search';\n"
	"  var el = pk.doc.getElementById('pk-matched');\n"
	"  if (!re) { el.textContent = ' '; return; }\n"
	"  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"  var covered = 0, end = -Infinity;\n"
	"  for (var j = 0; j < spans.length; j++) {\n"
	"    var from = Math.max(spans[j][0], end);\n"
	"    if (spans[j][1] > from) covered += spans[j][1] - from;\n"
	"    end = Math.max(end, spans[j][1]);\n"
	"  }\n"
	"  el.textContent = 'Matched: ' + (100 * covered / pk.width).toFixed(1) + '%';\n"
	"}\n";

static const char style[] =
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n"
	"#pk-title { font-size: 17px; text-anchor: middle; }\n"
	"#pk-subtitle { fill: #555; text-anchor: middle; }\n"
	".pk-btn { cursor: pointer; fill: #1a4fa0; }\n"
	"#pk-search, #pk-matched { text-anchor: end; }\n"
	"#pk-frames text { pointer-events: none; }\n"
	"#pk-frames g { cursor: pointer; }\n"
	"#pk-frames g:hover rect { stroke: #000; stroke-width: 0.5; }\n";

static void add_subtitle(struct strbuf *out, const uint64_t t[3])
{
	static const char *const names[3] = { "total", "on-CPU", "off-CPU" };
	static const int order[3] = { STATE_ON_CPU, STATE_OFF_CPU, STATE_ANY };
	bool first = true;
	for (int i = 0; i < 3; i++) {
		int s = order[i];
		/* "total" alone when nothing is marked; other time named only if present. */
		if (!t[s] && (s != STATE_ANY || t[STATE_ON_CPU] || t[STATE_OFF_CPU]))
			continue;
		if (!first)
			sb_adds(out, ", ");
		sb_adds(out, s == STATE_ANY && !first ? "other" : names[s]);
		sb_addc(out, ' ');
		flamegraph_add_duration(out, t[s]);
		first = false;
	}
}

int flamegraph_write(struct strbuf *out, const struct stack_profile *p, pid_t tid,
		     bool all_threads, const struct flamegraph_opts *o)
{
	struct flamegraph_opts def = { 0 };
	if (!o)
		o = &def;
	unsigned width = o->width >= 2 * PAD + 100 ? o->width : 1200;
	struct tree t = { 0 };
	struct render r = { .out = out, .p = p, .t = &t,
			    .min_width = o->min_width > 0 ? o->min_width : 0.1 };
	uint64_t *w = NULL;
	size_t nframes = stack_profile__nframes(p);
	int err = stack_profile__stack_weights(p, tid, all_threads, &w);
	if (err < 0)
		return err;
	r.label_off = malloc((nframes ? nframes : 1) * sizeof(*r.label_off));
	if (!r.label_off)
		goto nomem;
	for (uint32_t i = 0; i < nframes; i++) {
		r.label_off[i] = r.labels.len;
		folded_add_frame(&r.labels, stack_profile__frame_get(p, i));
		sb_addc(&r.labels, '\0');
	}
	if (r.labels.failed || tree_build(&t, p, w) < 0 || sort_children(&r) < 0)
		goto nomem;
	r.total = t.nodes[0].total;
	r.scale = r.total ? (double)(width - 2 * PAD) / (double)r.total : 0;
	r.height = TOP + (t.max_depth + 1) * FRAME_H + BOTTOM;

	uint64_t totals[3];
	stack_profile__totals(p, tid, all_threads, totals);
	sb_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
	sb_addf(out, "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
		"height=\"%u\" viewBox=\"0 0 %u %u\" onload=\"pkInit(evt)\">\n",
		width, r.height, width, r.height);
	sb_adds(out, "<style>\n");
	sb_adds(out, style);
	sb_adds(out, "</style>\n<script><![CDATA[\n");
	sb_adds(out, script);
	sb_adds(out, "]]></script>\n");
	sb_addf(out, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f8f8f4\"/>\n",
		width, r.height);
	sb_addf(out, "<text id=\"pk-title\" x=\"%u\" y=\"24\">", width / 2);
	xml_add_escaped(out, o->title ? o->title : "Flame Graph", SIZE_MAX);
	sb_addf(out, "</text>\n<text id=\"pk-subtitle\" x=\"%u\" y=\"44\">", width / 2);
	if (o->subtitle)
		xml_add_escaped(out, o->subtitle, SIZE_MAX);
	else
		add_subtitle(out, totals);
	sb_addf(out, "</text>\n<text id=\"pk-reset\" class=\"pk-btn\" x=\"%u\" y=\"24\" "
		"style=\"display:none\">Reset zoom</text>\n", PAD);
	sb_addf(out, "<text id=\"pk-search\" class=\"pk-btn\" x=\"%u\" y=\"24\">Search</text>\n",
		width - PAD);
	sb_addf(out, "<text id=\"pk-details\" x=\"%u\" y=\"%u\"> </text>\n", PAD, r.height - 10);
	sb_addf(out, "<text id=\"pk-matched\" x=\"%u\" y=\"%u\"> </text>\n", width - PAD,
		r.height - 10);
	sb_addf(out, "<g id=\"pk-frames\" data-pad=\"%u\" data-width=\"%u\" data-charw=\"%u\">\n",
		PAD, width - 2 * PAD, CHAR_W);
	if (r.total)
		draw_node(&r, 0, 0, 0);
	else
		sb_addf(out, "<text x=\"%u\" y=\"%u\">No samples</text>\n", PAD,
			r.height - BOTTOM - 4);
	sb_adds(out, "</g>\n</svg>\n");
	err = out->failed ? -ENOMEM : 0;
out:
	free(w);
	free(r.label_off);
	sb_free(&r.labels);
	free(t.nodes);
	free(t.index);
	return err;
nomem:
	err = -ENOMEM;
	goto out;
}
