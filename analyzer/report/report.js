/* report.js - draws the leaks page from the document in script#pymple-data (LEAKS_JSON in
 * README). Every string of the document is hostile (type names, keys, file names): it enters
 * the page only as text (textContent, text nodes, SVG text), never as markup, and nothing is
 * ever fetched. Charts are SVG drawn here; no library. */
(function () {
	'use strict';
	var SVGNS = 'http://www.w3.org/2000/svg';
	var PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#6f4e37',
		'#7a7a7a'];

	/* ---- small helpers: elements, numbers ---- */

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}
	function add(parent, child) {
		parent.appendChild(child);
		return child;
	}
	function txt(parent, s) {
		parent.appendChild(document.createTextNode(String(s)));
	}
	function sv(tag, attrs, text) {
		var e = document.createElementNS(SVGNS, tag);
		for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}
	function isNum(x) {
		return typeof x === 'number' && isFinite(x);
	}
	function num(n) {
		if (!isNum(n)) return 'n/a';
		return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
	}
	/* Sizes in binary units: KiB = 1024 bytes. */
	function human(b) {
		if (!isNum(b)) return 'n/a';
		var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
		var v = Math.abs(b), i = 0;
		while (v >= 1024 && i < units.length - 1) {
			v /= 1024;
			i++;
		}
		var s = i === 0 ? String(Math.round(v)) : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
		return (b < 0 ? '-' : '') + s + ' ' + units[i];
	}
	function signed(b) {
		return (isNum(b) && b > 0 ? '+' : '') + human(b);
	}
	function pct(x) {
		if (!isNum(x)) return 'n/a';
		var p = x * 100;
		return (p < 1 ? p.toFixed(2) : p.toFixed(1)) + '%';
	}
	function hex(a) {
		return isNum(a) ? '0x' + a.toString(16) : '';
	}
	function when(t) {
		if (!isNum(t)) return 'n/a';
		return new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
	}
	function span(sec) {
		if (!isNum(sec)) return '';
		if (sec < 120) return Math.round(sec) + ' s';
		if (sec < 7200) return Math.round(sec / 60) + ' min';
		if (sec < 172800) return (sec / 3600).toFixed(1) + ' h';
		return (sec / 86400).toFixed(1) + ' days';
	}
	function plural(n, one, many) {
		return num(n) + ' ' + (n === 1 ? one : many);
	}
	function arr(x) {
		return Array.isArray(x) ? x : [];
	}
	function str(x) {
		return x === null || x === undefined ? '' : String(x);
	}
	function clip(s, chars) {
		s = str(s);
		if (chars < 2) return '';
		return s.length <= chars ? s : s.slice(0, chars - 1) + '\u2026';
	}
	/* A stable hue per type name, so a type keeps its colour across views. */
	function hue(s) {
		var h = 2166136261;
		s = str(s);
		for (var i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
		return (h >>> 0) % 360;
	}
	function section(root, id, title) {
		var s = add(root, el('section'));
		s.id = id;
		add(s, el('h2', null, title));
		return s;
	}
	function note(parent, text, kind) {
		return add(parent, el('p', 'note' + (kind ? ' ' + kind : ''), text));
	}

	/* ---- the header: what was analysed ---- */

	function drawHeader(doc, root) {
		var dumps = arr(doc.dumps), sus = arr(doc.suspects);
		var lede = document.getElementById('lede');
		lede.replaceChildren();
		var last = dumps[dumps.length - 1] || {};
		if (dumps.length > 1) {
			txt(lede, plural(dumps.length, 'dump', 'dumps') + ' of pid ' + str(dumps[0].pid) +
				' over ' + span(last.time - dumps[0].time) + '. ');
		} else {
			txt(lede, 'One dump of pid ' + str(last.pid) + '. ');
		}
		if (sus.length) {
			var stake = 0;
			sus.forEach(function (s) {
				if (isNum(s.at_stake)) stake += s.at_stake;
			});
			add(lede, el('strong', null, plural(sus.length, 'suspect', 'suspects')));
			txt(lede, dumps.length > 1 ? ', ' + signed(stake) + ' at stake since the first dump.'
				: ', retaining ' + human(stake) + '.');
		} else {
			add(lede, el('strong', null, 'No suspects.'));
		}
		var top = document.querySelector('header.top');
		if (dumps.length > 6) {
			/* a long series: the table folded, the header stays short */
			var det = add(top, el('details', 'dumps-all'));
			add(det, el('summary', null, 'the ' + dumps.length + ' dumps'));
			drawDumps(doc, det);
		} else {
			drawDumps(doc, top);
		}
		var toc = add(top, el('nav', 'toc'));
		[['#suspects', 'Suspects'], ['#growth', 'Growth'], ['#memory', 'Where memory sits']
			].forEach(function (l) {
			var a = add(toc, el('a', null, l[1]));
			a.href = l[0];
		});
	}

	function drawNotes(doc, root) {
		var n = arr(doc.dumps).length;
		if (n === 1)
			note(root, 'One dump: the suspects are the accumulation points that retain the ' +
				'largest share of the heap. Growth needs two dumps or more, a trend three.');
		else if (n === 2)
			note(root, 'Two dumps: what grew is known, the trend is not. A third dump would tell ' +
				'a steady leak (grows at every step) from warm-up (grows, then stays flat).', 'warn');
		var ns = doc.not_suspects || {};
		var parts = [];
		if (ns['warm-up']) parts.push(plural(ns['warm-up'], 'warm-up group', 'warm-up groups') +
			' (grew, then stayed flat)');
		if (ns.static) parts.push(plural(ns.static, 'static group', 'static groups') +
			' (large, constant)');
		if (ns.small) parts.push(plural(ns.small, 'small group', 'small groups') +
			' (grew by less than 0.1% of the dump)');
		if (parts.length) note(root, 'Not listed as suspects: ' + parts.join(' and ') + '.');
	}

	function drawDumps(doc, parent) {
		var t = add(parent, el('table', 'dumps'));
		t.id = 'dumps';
		var hr = add(add(t, el('thead')), el('tr'));
		[['#', 'n'], ['file', ''], ['pid', 'n'], ['time', ''], ['objects', 'n'], ['size', 'n'],
			['RSS', 'n']].forEach(function (h) {
			add(hr, el('th', h[1], h[0]));
		});
		var tb = add(t, el('tbody'));
		arr(doc.dumps).forEach(function (d, i) {
			var r = add(tb, el('tr'));
			add(r, el('td', 'n', i + 1));
			add(r, el('td', 'path mono', d.path));
			add(r, el('td', 'n', d.pid));
			add(r, el('td', null, when(d.time)));
			add(r, el('td', 'n', num(d.objects)));
			add(r, el('td', 'n', human(d.size)));
			add(r, el('td', 'n', d.rss === null ? 'n/a' : human(d.rss)));
		});
	}

	/* ---- suspects ---- */

	function perDump(values, fmt) {
		return arr(values).map(fmt).join(' \u2192 ');
	}

	function fact(dl, term, value) {
		add(dl, el('dt', null, term));
		return add(dl, el('dd', null, value));
	}

	/* A path as a diagram: one box per step (name, type, objects), the reference into each
	 * step written on the arrow before it. */
	function pathDiagram(steps, holder) {
		var ol = el('ol', 'path');
		steps.forEach(function (st, i) {
			if (i > 0) {
				var e = add(ol, el('li', 'edge'));
				add(e, el('span', 'label', st.label === null ? '' : st.label));
				add(e, el('span', 'arrow'));
			}
			var cls = 'step';
			if (i === steps.length - 1) cls += ' group';
			else if (holder && isNum(st.address) && st.address === holder.address) cls += ' holder';
			var li = add(ol, el('li', cls));
			add(li, el('span', 'name', st.name));
			var meta = [];
			if (st.type && st.type !== st.name) meta.push(st.type);
			if (isNum(st.objects)) meta.push(plural(st.objects, 'object', 'objects'));
			if (i === 0 && st.root) meta.push('root: ' + st.root);
			if (cls.indexOf('holder') >= 0) meta.push('holder');
			if (meta.length) add(li, el('span', 'meta', meta.join(' \u00b7 ')));
		});
		return ol;
	}

	/* One object's path as Python would reach it: the root's name, then the labels. */
	// module app.APP.chain[1]: a namespace's ['name'] reads as .name
	function pathExpr(steps) {
		var s = '', ns = false;
		steps.forEach(function (st, i) {
			var lab = st.label, m;
			if (i === 0) {
				s = str(st.name);
			} else if (lab === '.__dict__' && i + 1 < steps.length &&
					/^\['[A-Za-z_][A-Za-z0-9_]*'\]$/.test(str(steps[i + 1].label))) {
				ns = true;
			} else if (ns && (m = /^\['(.*)'\]$/.exec(str(lab)))) {
				s += '.' + m[1];
				ns = false;
			} else {
				s += lab === null ? ' \u2192 ' + str(st.name) : str(lab);
			}
		});
		return s;
	}

	function copyButton(text) {
		var b = el('button', 'copy', 'Copy');
		b.type = 'button';
		b.addEventListener('click', function () {
			var done = function () {
				b.textContent = 'Copied';
				setTimeout(function () {
					b.textContent = 'Copy';
				}, 1500);
			};
			if (navigator.clipboard && navigator.clipboard.writeText) {
				navigator.clipboard.writeText(text).then(done, function () {
					selectText(b.previousSibling);
				});
			} else {
				selectText(b.previousSibling);
			}
		});
		return b;
	}
	function selectText(node) {
		var r = document.createRange();
		r.selectNodeContents(node);
		var sel = window.getSelection();
		sel.removeAllRanges();
		sel.addRange(r);
	}

	function sparkline(values, color) {
		var w = 220, h = 56, pad = 6;
		var svg = sv('svg', {viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img'});
		var max = Math.max.apply(null, values.concat([1]));
		var pts = values.map(function (v, i) {
			var x = values.length > 1 ? pad + i * (w - 2 * pad) / (values.length - 1) : w / 2;
			return [x, h - pad - (v / max) * (h - 2 * pad)];
		});
		add(svg, sv('line', {x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: '#d0d7de'}));
		if (pts.length > 1)
			add(svg, sv('polyline', {points: pts.map(function (p) {
				return p[0].toFixed(1) + ',' + p[1].toFixed(1);
			}).join(' '), fill: 'none', stroke: color, 'stroke-width': 2}));
		pts.forEach(function (p) {
			add(svg, sv('circle', {cx: p[0], cy: p[1], r: 3, fill: color}));
		});
		return svg;
	}

	/* A share (0..1) as a bar, the figure written beside it. */
	function meter(share, what) {
		var w = 230, h = 20, f = isNum(share) ? Math.max(0, Math.min(1, share)) : 0;
		var svg = sv('svg', {viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img',
			'class': 'meter'});
		svg.setAttribute('aria-label', pct(share) + ' ' + what);
		add(svg, sv('rect', {x: 0, y: 5, width: 100, height: 10, rx: 3, fill: '#e6e9ed'}));
		add(svg, sv('rect', {x: 0, y: 5, width: Math.max(1.5, 100 * f), height: 10, rx: 3, fill: '#b42318'}));
		add(svg, sv('text', {x: 108, y: 14, 'font-size': 12}, pct(share) + ' ' + what));
		return svg;
	}

	function drawSuspect(doc, s, i, parent) {
		var dumps = arr(doc.dumps);
		var card = add(parent, el('article', 'card suspect'));
		card.id = 'suspect-' + (i + 1);
		var head = add(card, el('div', 'suspect-head'));
		add(head, el('span', 'rank', '#' + (i + 1)));
		add(head, el('h3', 'mono', s.type));
		add(head, el('span', 'badge t-' + str(s.trend).replace(/[^a-z-]/g, ''), s.trend));
		add(head, el('span', 'stake', dumps.length > 1 ? signed(s.at_stake) + ' at stake'
			: 'retains ' + human(s.at_stake)));

		var facts = add(card, el('div', 'facts'));
		var dl = add(facts, el('dl'));
		fact(dl, dumps.length > 1 ? 'Count per dump' : 'Count', perDump(s.counts, num));
		if (isNum(s.growth_per_step))
			fact(dl, 'Growth', (s.growth_per_step > 0 ? '+' : '') + num(s.growth_per_step) +
				' objects per step');
		fact(dl, 'Own bytes', perDump(s.bytes, human));
		fact(dl, 'Retained', perDump(s.retained_per_dump, human));
		fact(dl, 'Share', pct(s.share_dump) + ' of the dump' +
			(isNum(s.share_rss) ? ', ' + pct(s.share_rss) + ' of RSS' : ' (RSS not recorded)'));
		var h = s.holder;
		fact(dl, 'Holder', h ? str(h.type) + ' at ' + hex(h.address) +
			(isNum(h.length) ? ' holding ' + num(h.length) : '') : 'none found');

		var fig = add(facts, el('figure', 'spark'));
		var counts = arr(s.counts).filter(isNum);
		if (counts.length > 1) {
			fig.appendChild(sparkline(counts, PALETTE[i % PALETTE.length]));
			add(fig, el('figcaption', null, 'count per dump'));
		}
		fig.appendChild(meter(s.share_dump, 'of the dump'));
		if (isNum(s.share_rss)) fig.appendChild(meter(s.share_rss, 'of RSS'));

		add(card, el('div', 'sub', 'Where: the path the group shares, from a root'));
		card.appendChild(pathDiagram(arr(s.path), h));

		if (s.example) {
			add(card, el('div', 'sub', 'Example object ' + hex(s.example.address)));
			var steps = arr(s.example.path);
			add(card, el('code', 'example', pathExpr(steps)));
			var det = add(card, el('details'));
			add(det, el('summary', null, 'each step'));
			var t = add(det, el('table'));
			steps.forEach(function (st) {
				var r = add(t, el('tr'));
				add(r, el('td', 'mono', st.label === null ? '(root)' : st.label));
				add(r, el('td', null, st.name));
				add(r, el('td', 'mono', hex(st.address)));
				add(r, el('td', null, st.root || ''));
			});
		}
		var next = arr(s.next);
		if (next.length) {
			add(card, el('div', 'sub', 'Next'));
			var ul = add(card, el('ul', 'cmds'));
			next.forEach(function (c) {
				var li = add(ul, el('li'));
				add(li, el('code', null, c));
				li.appendChild(copyButton(str(c)));
			});
		}
	}

	function drawSuspects(doc, root) {
		var s = section(root, 'suspects', 'Suspects, most memory at stake first');
		var sus = arr(doc.suspects);
		if (!sus.length) {
			note(s, arr(doc.dumps).length > 1
				? 'No suspects: no group of objects grew at every step across these dumps.'
				: 'No suspects: no accumulation point retains an outsized share of this dump.');
			return;
		}
		sus.forEach(function (x, i) {
			drawSuspect(doc, x, i, s);
		});
	}

	/* ---- growth charts ---- */

	/* Ticks for 0..max in binary units: a step of 1, 2 or 5 times a power of ten, in the
	 * unit that fits max. */
	function ticks(max) {
		var unit = 1;
		while (max / unit >= 1024) unit *= 1024;
		var raw = max / unit / 4, p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
		var step = [1, 2, 5, 10].map(function (m) {
			return m * p;
		}).filter(function (s) {
			return s >= raw;
		})[0] * unit;
		var out = [];
		for (var v = 0; v <= max + step / 2; v += step) out.push(v);
		if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
		return out;
	}

	/* An axis label: whole numbers without decimals (50 MiB, not 50.0 MiB). */
	function tickLabel(v) {
		var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
		while (v >= 1024 && i < units.length - 1) {
			v /= 1024;
			i++;
		}
		return (Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.round(v)) : v.toFixed(1)) + ' ' + units[i];
	}

	/* A chart over the dumps: series of {name, values, color, kind: 'line'|'bar'}. */
	function chart(dumps, series) {
		var W = 560, H = 250, L = 70, R = 14, T = 12, B = 40;
		var svg = sv('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img'});
		var max = 1;
		series.forEach(function (s) {
			s.values.forEach(function (v) {
				if (isNum(v) && v > max) max = v;
			});
		});
		var tk = ticks(max);
		var top = tk[tk.length - 1];
		var n = dumps.length;
		var band = (W - L - R) / n;
		var x = function (i) {
			return L + band * (i + 0.5);
		};
		var y = function (v) {
			return H - B - (v / top) * (H - T - B);
		};
		var axis = add(svg, sv('g', {'class': 'axis'}));
		tk.forEach(function (v) {
			add(axis, sv('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), 'class': 'grid'}));
			add(axis, sv('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, tickLabel(v)));
		});
		/* a label every k-th dump (and the last), so that long series stay legible */
		var k = Math.ceil(84 / band);
		dumps.forEach(function (d, i) {
			if (i % k && i !== n - 1) return;
			add(axis, sv('text', {x: x(i), y: H - B + 16, 'text-anchor': 'middle'}, 'dump ' + (i + 1)));
			add(axis, sv('text', {x: x(i), y: H - B + 30, 'text-anchor': 'middle'},
				i === 0 ? when(d.time).slice(11, 16) + ' UTC' : '+' + span(d.time - dumps[0].time)));
		});
		var bars = series.filter(function (s) {
			return s.kind === 'bar';
		});
		bars.forEach(function (s, k) {
			var bw = Math.min(48, band * 0.6) / bars.length;
			s.values.forEach(function (v, i) {
				if (!isNum(v)) return;
				var r = add(svg, sv('rect', {x: x(i) - bw * bars.length / 2 + k * bw, y: y(v), width: bw - 2,
					height: Math.max(0, y(0) - y(v)), fill: s.color}));
				add(r, sv('title', {}, s.name + ', dump ' + (i + 1) + ': ' + human(v)));
			});
		});
		series.forEach(function (s) {
			if (s.kind === 'bar') return;
			var pts = [];
			s.values.forEach(function (v, i) {
				if (isNum(v)) pts.push([x(i), y(v), v, i]);
			});
			if (pts.length > 1)
				add(svg, sv('polyline', {points: pts.map(function (p) {
					return p[0].toFixed(1) + ',' + p[1].toFixed(1);
				}).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2.5}));
			pts.forEach(function (p) {
				var c = add(svg, sv('circle', {cx: p[0], cy: p[1], r: 4, fill: s.color}));
				add(c, sv('title', {}, s.name + ', dump ' + (p[3] + 1) + ': ' + human(p[2])));
			});
		});
		return svg;
	}

	function legend(series) {
		var ul = el('ul', 'legend');
		series.forEach(function (s) {
			var li = add(ul, el('li'));
			var sw = add(li, sv('svg', {width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true'}));
			add(sw, s.kind === 'bar' ? sv('rect', {x: 1, y: 1, width: 12, height: 12, fill: s.color})
				: sv('circle', {cx: 7, cy: 7, r: 5, fill: s.color}));
			txt(li, s.name);
		});
		return ul;
	}

	function drawGrowth(doc, root) {
		var dumps = arr(doc.dumps);
		var s = section(root, 'growth', 'Growth over the series');
		if (dumps.length < 2) {
			note(s, 'One dump: no growth to draw.');
			return;
		}
		var box = add(s, el('div', 'charts'));
		var sus = arr(doc.suspects).slice(0, PALETTE.length);
		if (sus.length) {
			var f1 = add(box, el('figure', 'card'));
			add(f1, el('figcaption', null, 'Retained by each suspect' +
				(arr(doc.suspects).length > sus.length ? ' (the first ' + sus.length + ')' : '')));
			var ser = sus.map(function (x, i) {
				return {name: '#' + (i + 1) + ' ' + str(x.type), values: arr(x.retained_per_dump),
					color: PALETTE[i], kind: 'line'};
			});
			f1.appendChild(chart(dumps, ser));
			f1.appendChild(legend(ser));
		}
		var f2 = add(box, el('figure', 'card'));
		add(f2, el('figcaption', null, 'The dumps: heap size and RSS'));
		var ser2 = [{name: 'heap (objects\u2019 bytes)', color: '#8fb3d9', kind: 'bar', values: dumps.map(function (d) {
			return d.size;
		})}];
		if (dumps.some(function (d) {
			return isNum(d.rss);
		}))
			ser2.push({name: 'RSS', color: '#b42318', kind: 'line', values: dumps.map(function (d) {
				return d.rss;
			})});
		f2.appendChild(chart(dumps, ser2));
		f2.appendChild(legend(ser2));
	}

	/* ---- where memory sits: a zoomable treemap of the dominator tree ---- */

	/* Squarified treemap (Bruls, Huizing, van Wijk): lays out values (sorted largest first)
	 * in the rectangle, rows chosen to keep the cells close to square. */
	function squarify(values, x, y, w, h) {
		var total = 0;
		values.forEach(function (v) {
			total += v;
		});
		var out = [];
		if (total <= 0 || w <= 0 || h <= 0) return out;
		var scale = (w * h) / total;
		var areas = values.map(function (v) {
			return v * scale;
		});
		var worst = function (row, side) {
			var s = 0, mx = 0, mn = Infinity;
			row.forEach(function (a) {
				s += a;
				if (a > mx) mx = a;
				if (a < mn) mn = a;
			});
			return Math.max((side * side * mx) / (s * s), (s * s) / (side * side * mn));
		};
		var layout = function (row) {
			var s = 0;
			row.forEach(function (a) {
				s += a;
			});
			if (w >= h) {
				var cw = s / h, yy = y;
				row.forEach(function (a) {
					out.push([x, yy, cw, a / cw]);
					yy += a / cw;
				});
				x += cw;
				w -= cw;
			} else {
				var rh = s / w, xx = x;
				row.forEach(function (a) {
					out.push([xx, y, a / rh, rh]);
					xx += a / rh;
				});
				y += rh;
				h -= rh;
			}
		};
		var row = [];
		var i = 0;
		while (i < areas.length) {
			var side = Math.min(w, h);
			var cand = row.concat([areas[i]]);
			if (!row.length || worst(cand, side) <= worst(row, side)) {
				row = cand;
				i++;
			} else {
				layout(row);
				row = [];
			}
		}
		if (row.length) layout(row);
		return out;
	}

	/* The cells of a node: its children, and its own bytes when it has any. */
	function cells(node) {
		var out = arr(node.children).filter(function (c) {
			return c && isNum(c.retained) && c.retained > 0;
		}).map(function (c) {
			return {node: c, value: c.retained};
		});
		if (isNum(node.size) && node.size > 0 && out.length)
			out.push({node: null, value: node.size, own: true});
		out.sort(function (a, b) {
			return b.value - a.value;
		});
		return out;
	}

	function cellLabel(g, x, y, w, h, name, size) {
		if (w < 28 || h < 16) return;
		var chars = Math.floor((w - 8) / 6.6);
		add(g, sv('text', {x: x + 4, y: y + 14}, clip(name, chars)));
		if (h >= 30) add(g, sv('text', {x: x + 4, y: y + 27, 'class': 'size'}, clip(size, chars)));
	}

	function Treemap(doc, parent) {
		this.root = doc.tree;
		this.total = this.root.retained;
		this.crumbs = add(parent, el('nav', 'crumbs'));
		this.crumbs.setAttribute('aria-label', 'position in the tree');
		this.wrap = add(parent, el('div', 'treemap-wrap'));
		add(parent, el('p', 'hint', 'Each box is an object (or a group of small ones) with the ' +
			'bytes it alone keeps alive: its retained size. Click a box to look inside it; the ' +
			'path above goes back up. Hover for details.'));
		this.trail = [this.root];
	}
	Treemap.prototype.go = function (trail) {
		this.trail = trail;
		var idx = [];
		for (var i = 1; i < trail.length; i++) idx.push(arr(trail[i - 1].children).indexOf(trail[i]));
		try {
			history.replaceState(null, '', idx.length ? '#tree=' + idx.join('.') : '#memory');
		} catch (e) {
			/* file: pages may refuse history changes; the view still changes */
		}
		this.draw();
	};
	/* Follows a "#tree=0.2.1" link (child indices from the root); stops at the first bad one. */
	Treemap.prototype.follow = function (hash) {
		var m = /^#tree=([0-9.]+)$/.exec(hash || '');
		var trail = [this.root], stop = false;
		if (m) m[1].split('.').forEach(function (k) {
			var c = stop ? null : arr(trail[trail.length - 1].children)[Number(k)];
			if (c && arr(c.children).length) trail.push(c);
			else stop = true;
		});
		this.trail = trail;
		this.draw();
	};
	Treemap.prototype.draw = function () {
		var self = this, node = this.trail[this.trail.length - 1];
		this.crumbs.replaceChildren();
		this.trail.forEach(function (n, i) {
			if (i) add(self.crumbs, el('span', 'sep', '\u203a'));
			var label = str(n.label) + ' ' + human(n.retained);
			if (i === self.trail.length - 1) {
				add(self.crumbs, el('span', 'here', label));
			} else {
				var b = add(self.crumbs, el('button', null, label));
				b.type = 'button';
				b.addEventListener('click', function () {
					self.go(self.trail.slice(0, i + 1));
				});
			}
		});
		var W = Math.max(600, Math.min(1190, this.wrap.clientWidth || 1190)), H = 460;
		var svg = sv('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'class': 'treemap',
			role: 'img'});
		svg.setAttribute('aria-label', 'treemap of ' + str(node.label));
		var cs = cells(node);
		var rects = squarify(cs.map(function (c) {
			return c.value;
		}), 0, 0, W, H);
		cs.forEach(function (c, k) {
			var r = rects[k];
			if (!r) return;
			var x = r[0], y = r[1], w = r[2], h = r[3];
			var n = c.node;
			var kids = n ? cells(n) : [];
			var drill = n && kids.length > 0;
			var g = add(svg, sv('g', {'class': drill ? 'cell' : 'cell leaf'}));
			var name = c.own ? 'own bytes of ' + str(node.label) : str(n.label);
			var hh = n && n.type !== null ? hue(n.type) : 0;
			var fill = c.own ? '#e9ecef' : n.type === null ? '#dde1e6' : 'hsl(' + hh + ',48%,80%)';
			add(g, sv('rect', {x: x, y: y, width: Math.max(0, w), height: Math.max(0, h), fill: fill,
				stroke: '#fff', 'stroke-width': 1, 'class': 'box'}));
			var tip = name + '\n' + (n && n.type ? 'type ' + n.type + (isNum(n.address) ? ' at ' + hex(n.address) : '') + '\n' : '') +
				'retained ' + human(c.value) + ' (' + pct(c.value / self.total) + ' of the heap)' +
				(n && isNum(n.size) ? '\nown ' + human(n.size) : '') + (drill ? '\nclick to look inside' : '');
			add(g, sv('title', {}, tip));
			if (drill && w > 60 && h > 48) {
				var inner = squarify(kids.map(function (kc) {
					return kc.value;
				}), x + 3, y + 32, w - 6, h - 35);
				kids.forEach(function (kc, j) {
					var q = inner[j];
					if (!q || q[2] < 1 || q[3] < 1) return;
					var kn = kc.node;
					var kf = kc.own || kn.type === null ? '#eef0f3' : 'hsl(' + hue(kn.type) + ',42%,90%)';
					add(g, sv('rect', {x: q[0], y: q[1], width: q[2], height: q[3], fill: kf,
						stroke: 'hsl(' + hh + ',30%,70%)', 'stroke-width': 0.5}));
					if (q[2] > 70 && q[3] > 18) {
						add(g, sv('text', {x: q[0] + 3, y: q[1] + 12, 'class': 'size'},
							clip((kc.own ? 'own' : str(kn.label)) + ' ' + human(kc.value), Math.floor((q[2] - 6) / 6.2))));
					}
				});
			}
			cellLabel(g, x, y, w, h, name, human(c.value) + ' \u00b7 ' + pct(c.value / self.total));
			if (drill) {
				g.setAttribute('tabindex', '0');
				g.setAttribute('role', 'button');
				g.setAttribute('aria-label', 'look inside ' + name + ', ' + human(c.value));
				var open = function () {
					self.go(self.trail.concat([n]));
				};
				g.addEventListener('click', open);
				g.addEventListener('keydown', function (e) {
					if (e.key === 'Enter' || e.key === ' ') {
						e.preventDefault();
						open();
					}
				});
			}
		});
		if (!cs.length) add(svg, sv('text', {x: 12, y: 24}, str(node.label) + ': nothing inside'));
		this.wrap.replaceChildren(svg);
	};

	function drawMemory(doc, root) {
		var s = section(root, 'memory', 'Where memory sits (newest dump)');
		if (doc.tree === null) {
			note(s, 'The dominator tree was left out of this page to keep it under 2 MiB.', 'warn');
			return;
		}
		if (!doc.tree || typeof doc.tree !== 'object') {
			note(s, 'This document carries no dominator tree.');
			return;
		}
		var tm = new Treemap(doc, s);
		tm.follow(location.hash);
		window.addEventListener('hashchange', function () {
			if (/^#tree=/.test(location.hash)) tm.follow(location.hash);
		});
		var last = 0;
		window.addEventListener('resize', function () {
			var w = tm.wrap.clientWidth;
			if (Math.abs(w - last) > 40) {
				last = w;
				tm.draw();
			}
		});
	}

	/* ---- the page ---- */

	function main() {
		var root = document.getElementById('report');
		var doc;
		try {
			doc = JSON.parse(document.getElementById('pymple-data').textContent);
		} catch (e) {
			note(root, 'The report\u2019s data does not parse: ' + e.message, 'error');
			throw e;
		}
		if (!doc || typeof doc !== 'object' || !Array.isArray(doc.dumps) || !doc.dumps.length) {
			note(root, 'The report\u2019s data has no dumps.', 'error');
			throw new Error('pymple report: no dumps in the document');
		}
		drawHeader(doc, root);
		drawNotes(doc, root);
		drawSuspects(doc, root);
		drawGrowth(doc, root);
		drawMemory(doc, root);
		document.body.setAttribute('data-rendered', 'ok');
	}

	document.addEventListener('securitypolicyviolation', function (e) {
		console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
	});
	/* On paper the folded list of dumps is shown in full. */
	window.addEventListener('beforeprint', function () {
		var d = document.querySelector('details.dumps-all');
		if (d) d.open = true;
	});
	main();
})();
