// Runs the flamegraph's inline script against the golden SVG in node, with a minimal DOM
// stand-in built from the SVG's boxes, and checks what a user sees: zoom, reset, search
// with the matched share, the details line and the fitted labels.
//   node flamegraph_js.js tests/unit/stack/golden/basic.svg
'use strict';
const fs = require('fs');
const assert = require('assert');
const vm = require('vm');

const svg = fs.readFileSync(process.argv[2], 'utf8');
const script = svg.split('<script><![CDATA[')[1].split(']]></script>')[0];

function unescape(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

class Element {
  constructor(attrs, text) {
    this.attrs = Object.assign({}, attrs);
    this.textContent = text || '';
    this.style = { display: '', opacity: '' };
    this.listeners = {};
    this.children = {};
  }
  getAttribute(name) { return name in this.attrs ? this.attrs[name] : null; }
  setAttribute(name, value) { this.attrs[name] = String(value); }
  addEventListener(type, fn) { this.listeners[type] = fn; }
  getElementsByTagName(tag) { return this.children[tag] || []; }
  fire(type) { this.listeners[type]({}); }
}

function attrsOf(s) {
  const a = {};
  for (const m of s.matchAll(/([\w-]+)="([^"]*)"/g)) a[m[1]] = unescape(m[2]);
  return a;
}

// Boxes: <g[ class="x"]><title>T</title><rect .../><text ...>L</text></g>
const boxes = [];
const re = /<g( class="([^"]*)")?><title>([^<]*)<\/title><rect ([^>]*)\/><text ([^>]*)>([^<]*)<\/text><\/g>/g;
for (const m of svg.matchAll(re)) {
  const g = new Element(m[2] ? { class: m[2] } : {});
  g.children.title = [new Element({}, unescape(m[3]))];
  g.children.rect = [new Element(attrsOf(m[4]))];
  g.children.text = [new Element(attrsOf(m[5]), unescape(m[6]))];
  g.name = unescape(m[3]).split('\n')[0];
  boxes.push(g);
}
assert.ok(boxes.length > 5, 'boxes found');
const frames = new Element(attrsOf(svg.match(/<g id="pk-frames" ([^>]*)>/)[1]));
frames.children.g = boxes;
const ids = { 'pk-frames': frames };
for (const id of ['pk-reset', 'pk-search', 'pk-matched', 'pk-details'])
  ids[id] = new Element({}, id === 'pk-search' ? 'Search' : ' ');
const doc = { getElementById: (id) => ids[id] };
let answer = null;
const win = { listeners: {}, addEventListener(t, f) { this.listeners[t] = f; },
  prompt: () => answer };
const ctx = vm.createContext({ window: win, document: doc, Math, Array, RegExp, Infinity });
vm.runInContext(script, ctx);
vm.runInContext('pkInit', ctx)({ target: { ownerDocument: doc } });

const box = (name) => {
  const b = boxes.find((g) => g.name === name);
  assert.ok(b, 'box ' + name);
  return b;
};
const x = (name) => +box(name).children.rect[0].attrs.x;
const w = (name) => +box(name).children.rect[0].attrs.width;
const shown = (name) => box(name).style.display !== 'none';
const label = (name) => box(name).children.text[0].textContent;
const initial = {};
for (const g of boxes) initial[g.name] = [x(g.name), w(g.name), label(g.name)];

// Labels at load: what the writer wrote.
for (const g of boxes) assert.strictEqual(label(g.name), initial[g.name][2], 'label ' + g.name);

// Zoom into compute_[c] (1.00 s of 4.00 s): it and its child fill the width, its
// ancestors too (dimmed), everything else is hidden.
box('compute_[c]').fire('click');
assert.strictEqual(x('compute_[c]'), 10);
assert.strictEqual(w('compute_[c]'), 1180);
assert.strictEqual(w('sqrt_[c]'), 1180);
assert.strictEqual(w('main_[c]'), 1180);
assert.strictEqual(box('main_[c]').style.opacity, '0.6');
assert.strictEqual(box('compute_[c]').style.opacity, '');
assert.strictEqual(w('all'), 1180);
for (const n of ['parse_[c]', 'lex_[c]', 'main_[o]', 'read_[o]', 'handler (app.py)'])
  assert.ok(!shown(n), n + ' hidden');
assert.strictEqual(ids['pk-reset'].style.display, '');

// Zoom into parse_[c] (500 ms, self 200 ms): lex_[c] takes 300/500 of the width.
box('parse_[c]').fire('click');
assert.ok(shown('lex_[c]') && !shown('sqrt_[c]'));
assert.strictEqual(x('lex_[c]'), 10);
assert.strictEqual(w('lex_[c]'), 708);
assert.strictEqual(label('lex_[c]'), 'lex_[c]');

// Reset: every box back where the writer put it, with its label.
ids['pk-reset'].fire('click');
for (const g of boxes) {
  assert.ok(shown(g.name));
  assert.deepStrictEqual([x(g.name), w(g.name), label(g.name)], initial[g.name], g.name);
}
assert.strictEqual(ids['pk-reset'].style.display, 'none');

// Details line on hover.
box('read_[o]').fire('mouseover');
assert.strictEqual(ids['pk-details'].textContent, 'read_[o]: 2.50 s (62.44%)');
box('read_[o]').fire('mouseout');
assert.strictEqual(ids['pk-details'].textContent, ' ');

// Search: sqrt and lex cover (295 + 88.5) / 1180 = 32.5%.
const fill = (name) => box(name).children.rect[0].attrs.fill;
const before = fill('sqrt_[c]');
answer = 'sqrt|lex';
ids['pk-search'].fire('click');
assert.strictEqual(ids['pk-matched'].textContent, 'Matched: 32.5%');
assert.strictEqual(fill('sqrt_[c]'), 'rgb(224,64,251)');
assert.strictEqual(fill('lex_[c]'), 'rgb(224,64,251)');
assert.notStrictEqual(fill('compute_[c]'), 'rgb(224,64,251)');
assert.strictEqual(ids['pk-search'].textContent, 'Reset search');
// Clicking again resets the search.
ids['pk-search'].fire('click');
assert.strictEqual(fill('sqrt_[c]'), before);
assert.strictEqual(ids['pk-matched'].textContent, ' ');

// Nested matches count once: every on-CPU frame is inside main_[c] (442.5 px = 37.5%).
answer = '_\\[c\\]$';
ids['pk-search'].fire('click');
assert.strictEqual(ids['pk-matched'].textContent, 'Matched: 37.5%');
// The root ("all") never matches; a bad regular expression is searched as text.
answer = 'all';
ids['pk-search'].fire('click'); // resets
ids['pk-search'].fire('click');
assert.strictEqual(ids['pk-matched'].textContent, 'Matched: 0.0%');
ids['pk-search'].fire('click');
answer = '(app.py';
ids['pk-search'].fire('click');
assert.strictEqual(ids['pk-matched'].textContent, 'Matched: 0.0%'); // 0.22 px of 1180
assert.strictEqual(fill('handler (app.py)'), 'rgb(224,64,251)');

// Escape resets zoom and search.
box('compute_[c]').fire('click');
win.listeners.keydown({ key: 'Escape', preventDefault() {} });
assert.ok(shown('main_[o]'));
assert.strictEqual(ids['pk-matched'].textContent, ' ');
console.log('flamegraph script: ok');
