/* netviz interactive figure. Every scene was laid out by netviz and sits in
   the page as inline SVG; this script only shows one at a time, pans and
   zooms it, and links its cells to the layers' details and the table.
   Text from the model reaches the document only through textContent. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('nv-data').textContent);
  var layers = data.layers;
  var byToken = Object.create(null);
  layers.forEach(function (l, i) { (byToken[l.token] = byToken[l.token] || []).push(i); });
  var view = document.getElementById('nv-view');
  var details = document.getElementById('nv-details');
  var table = document.getElementById('nv-table');
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var search = document.getElementById('nv-search');
  var found = document.getElementById('nv-found');
  var foldButton = document.getElementById('nv-fold');
  var styleSelect = document.getElementById('nv-style');

  function layersOf(el) {
    var out = [];
    if (!el || !el.classList) return out;
    el.classList.forEach(function (c) {
      if (c.slice(0, 6) === 'layer-' && byToken[c.slice(6)]) out = out.concat(byToken[c.slice(6)]);
    });
    return out;
  }

  var scenes = Array.prototype.map.call(view.querySelectorAll('.nv-stage'), function (stage) {
    var svg = stage.querySelector('svg');
    var vb = (svg.getAttribute('viewBox') || '0 0 100 100').split(/[\s,]+/).map(Number);
    var els = Object.create(null);
    svg.querySelectorAll('[class*="layer-"]').forEach(function (el) {
      layersOf(el).forEach(function (i) { (els[i] = els[i] || []).push(el); });
    });
    return {stage: stage, svg: svg, prefix: svg.getAttribute('data-prefix') || '',
            style: stage.getAttribute('data-style'), expanded: stage.getAttribute('data-expanded') === 'true',
            full: {x: vb[0], y: vb[1], w: vb[2], h: vb[3]}, box: null, els: els};
  });
  var cur = scenes[0];
  var hits = [], selected = [], hovered = [];

  /* --- the viewport: the viewBox always has the window's aspect ---------- */
  function size() { return {w: view.clientWidth || 1, h: view.clientHeight || 1}; }
  function apply() {
    var b = cur.box;
    cur.svg.setAttribute('viewBox', [b.x, b.y, b.w, b.h].map(function (v) { return +v.toFixed(3); }).join(' '));
  }
  function fitTo(r, pad) {
    var v = size(), p = pad === undefined ? 0.03 : pad;
    var s = Math.min(v.w / (r.w * (1 + 2 * p)), v.h / (r.h * (1 + 2 * p)));
    cur.box = {x: r.x + r.w / 2 - v.w / s / 2, y: r.y + r.h / 2 - v.h / s / 2, w: v.w / s, h: v.h / s};
    apply();
  }
  function fit() { fitTo(cur.full); }
  function scale() { return size().w / cur.box.w; }
  function centreOn(r, s) {
    var v = size();
    s = Math.min(s, 40);
    cur.box = {x: r.x + r.w / 2 - v.w / s / 2, y: r.y + r.h / 2 - v.h / s / 2, w: v.w / s, h: v.h / s};
    apply();
  }
  function toScene(cx, cy) {
    var r = view.getBoundingClientRect(), b = cur.box;
    return {x: b.x + (cx - r.left) * b.w / r.width, y: b.y + (cy - r.top) * b.h / r.height};
  }
  function zoomAt(cx, cy, f) {
    var p = toScene(cx, cy), b = cur.box;
    var w = b.w / f;
    if (w < cur.full.w / 200 || w > cur.full.w * 20) return;
    cur.box = {x: p.x - (p.x - b.x) / f, y: p.y - (p.y - b.y) / f, w: w, h: b.h / f};
    apply();
  }
  function panBy(dx, dy) {
    var s = scale();
    cur.box.x -= dx / s;
    cur.box.y -= dy / s;
    apply();
  }
  view.addEventListener('wheel', function (e) {
    e.preventDefault();
    var d = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1);
    zoomAt(e.clientX, e.clientY, Math.exp(-d * 0.0015));
  }, {passive: false});

  var pointers = new Map(), drag = null, pinch = null;
  view.addEventListener('pointerdown', function (e) {
    if (e.button !== undefined && e.button > 0) return;
    pointers.set(e.pointerId, {x: e.clientX, y: e.clientY});
    if (pointers.size === 1) {
      drag = {x: e.clientX, y: e.clientY, moved: false, target: e.target, id: e.pointerId};
    } else if (pointers.size === 2) {
      var p = Array.from(pointers.values());
      pinch = {d: Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y) || 1};
      drag = null;
    }
    try { view.setPointerCapture(e.pointerId); } catch (err) { /* not every pointer can be captured */ }
  });
  view.addEventListener('pointermove', function (e) {
    var last = pointers.get(e.pointerId);
    if (!last) { if (e.pointerType === 'mouse') hover(e.target); return; }
    if (pinch && pointers.size === 2) {
      pointers.set(e.pointerId, {x: e.clientX, y: e.clientY});
      var p = Array.from(pointers.values());
      var d = Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y) || 1;
      zoomAt((p[0].x + p[1].x) / 2, (p[0].y + p[1].y) / 2, d / pinch.d);
      pinch.d = d;
      return;
    }
    if (drag && drag.id === e.pointerId) {
      if (!drag.moved && Math.hypot(e.clientX - drag.x, e.clientY - drag.y) > 4) {
        drag.moved = true;
        view.classList.add('nv-dragging');
      }
      if (drag.moved) panBy(e.clientX - last.x, e.clientY - last.y);
    }
    pointers.set(e.pointerId, {x: e.clientX, y: e.clientY});
  });
  function release(e, cancelled) {
    if (!pointers.has(e.pointerId)) return;
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (drag && drag.id === e.pointerId) {
      if (!drag.moved && !cancelled) tap(drag.target);
      drag = null;
      view.classList.remove('nv-dragging');
    }
  }
  view.addEventListener('pointerup', function (e) { release(e, false); });
  view.addEventListener('pointercancel', function (e) { release(e, true); });
  view.addEventListener('pointerleave', function (e) { if (e.pointerType === 'mouse' && !drag) hover(null); });
  view.addEventListener('keydown', function (e) {
    var r = view.getBoundingClientRect(), cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    if (e.key === '+' || e.key === '=') zoomAt(cx, cy, 1.25);
    else if (e.key === '-') zoomAt(cx, cy, 0.8);
    else if (e.key === '0') fit();
    else if (e.key === 'ArrowLeft') panBy(40, 0);
    else if (e.key === 'ArrowRight') panBy(-40, 0);
    else if (e.key === 'ArrowUp') panBy(0, 40);
    else if (e.key === 'ArrowDown') panBy(0, -40);
    else return;
    e.preventDefault();
  });
  window.addEventListener('resize', function () {
    var v = size(), c = {x: cur.box.x + cur.box.w / 2, y: cur.box.y + cur.box.h / 2}, s = scale();
    cur.box = {x: c.x - v.w / s / 2, y: c.y - v.h / s / 2, w: v.w / s, h: v.h / s};
    apply();
  });

  /* --- the layers' details ------------------------------------------------ */
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function num(n) { return Number(n).toLocaleString('en-US'); }
  function show(indices) {
    if (!details) return;
    details.textContent = '';
    if (!indices.length) {
      details.appendChild(el('p', 'Point at a cell or a row to see its layer.', 'nv-muted'));
      return;
    }
    indices.forEach(function (i) {
      var l = layers[i], dl = el('dl');
      details.appendChild(el('h2', l.name));
      function add(k, v) { if (v === '' || v === undefined) return; dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
      add('type', l.type);
      add('input', l['in'].join(', ') + (l.from.length ? '  (from ' + l.from.join(', ') + ')' : ''));
      add('output', l.out);
      add('params', num(l.params));
      add('MACs', num(l.macs));
      add('source', l.source);
      Object.keys(l.attrs).forEach(function (k) {
        var v = l.attrs[k];
        add(k, typeof v === 'string' ? v : JSON.stringify(v));
      });
      details.appendChild(dl);
    });
  }
  function mark(list, cls, on) {
    list.forEach(function (i) {
      (cur.els[i] || []).forEach(function (e) { e.classList.toggle(cls, on); });
      if (rows[i]) rows[i].classList.toggle(cls, on);
    });
  }
  function hover(target) {
    var idx = target && cur.svg.contains(target) ? layersOf(target.closest('[class*="layer-"]')) : [];
    if (idx.join() === hovered.join()) return;
    mark(hovered, 'nv-hover', false);
    hovered = idx;
    mark(hovered, 'nv-hover', true);
    show(hovered.length ? hovered : selected);
  }
  function bounds(list) {
    var r = null;
    list.forEach(function (e) {
      var b;
      try { b = e.getBBox(); } catch (err) { return; }
      if (!b.width && !b.height) return;
      if (!r) r = {x: b.x, y: b.y, x1: b.x + b.width, y1: b.y + b.height};
      else {
        r.x = Math.min(r.x, b.x); r.y = Math.min(r.y, b.y);
        r.x1 = Math.max(r.x1, b.x + b.width); r.y1 = Math.max(r.y1, b.y + b.height);
      }
    });
    return r && {x: r.x, y: r.y, w: r.x1 - r.x, h: r.y1 - r.y};
  }
  function drawnIn(scene, list) { return list.filter(function (i) { return scene.els[i]; }); }
  function reveal(list) {
    /* the layers' cells into view: unfolded first if only the copies show them */
    if (!drawnIn(cur, list).length) {
      var other = partner(cur);
      if (other && drawnIn(other, list).length) switchTo(other);
    }
    var els = [];
    list.forEach(function (i) { els = els.concat(cur.els[i] || []); });
    var r = bounds(els);
    if (!r) return;
    var b = cur.box;
    if (r.x < b.x || r.y < b.y || r.x + r.w > b.x + b.w || r.y + r.h > b.y + b.h) {
      if (r.w > b.w || r.h > b.h) fitTo(r, 0.2); else centreOn(r, scale());
    }
  }
  function select(list, fromRow) {
    mark(selected, 'nv-selected', false);
    selected = list;
    mark(selected, 'nv-selected', true);
    show(selected);
    if (!list.length) return;
    if (fromRow) reveal(list);
    else if (rows[list[0]]) rows[list[0]].scrollIntoView({block: 'nearest'});
  }

  /* --- folding: the folded and the expanded scene of a style --------------- */
  function partner(scene) {
    return scenes.filter(function (s) { return s.style === scene.style && s.expanded !== scene.expanded; })[0];
  }
  function frames(scene) { return Array.prototype.slice.call(scene.svg.querySelectorAll('.module, .run')); }
  function bare(scene, e) { return e.id.slice(scene.prefix.length); }
  function byId(scene, id) { return document.getElementById(scene.prefix + id); }
  function switchTo(scene, keepBox) {
    mark(hits, 'nv-hit', false); mark(selected, 'nv-selected', false); mark(hovered, 'nv-hover', false);
    var s = cur.box ? scale() : null;
    cur.stage.hidden = true;
    cur = scene;
    cur.stage.hidden = false;
    if (!cur.box || !keepBox) fit();
    else if (s) centreOn({x: cur.box.x, y: cur.box.y, w: cur.box.w, h: cur.box.h}, s);
    mark(hits, 'nv-hit', true); mark(selected, 'nv-selected', true);
    hovered = [];
    var other = partner(cur);
    foldButton.hidden = !other;
    foldButton.textContent = cur.expanded ? 'Fold all' : 'Unfold all';
    if (styleSelect) styleSelect.value = cur.style;
    updateFound();
  }
  function unfold(frame) {
    var other = partner(cur);
    if (!other || cur.expanded) return;
    var list = frames(cur), k = list.indexOf(frame), id = bare(cur, frame), end = null, s = scale();
    for (var j = k + 1; j < list.length && !end; j++) end = byId(other, bare(cur, list[j]));
    switchTo(other);
    var start = byId(cur, id);
    if (!start) return;
    var a = start.getBBox(), x1 = end ? end.getBBox().x : cur.full.x + cur.full.w;
    var copies = frames(cur).filter(function (f) {
      var b = f.getBBox();
      return b.x >= a.x - 0.5 && b.x < x1 - 0.5;
    });
    var r = bounds(copies) || bounds([start]);
    fitTo(r, r.w * s < size().w * 0.5 ? 0.25 : 0.03);  /* the copies, closer */
    copies.forEach(function (f) { f.classList.add('nv-flash'); });
    setTimeout(function () { copies.forEach(function (f) { f.classList.remove('nv-flash'); }); }, 1500);
  }
  function fold(frame) {
    var other = partner(cur);
    if (!other || !cur.expanded) return;
    var target = null, s = scale();
    frames(cur).some(function (f) {
      var t = byId(other, bare(cur, f));
      if (t) target = t;
      return f === frame;
    });
    switchTo(other);
    if (target) centreOn(bounds([target]), s);
  }
  function tap(target) {
    if (!target || !cur.svg.contains(target)) { select([]); return; }
    var idx = layersOf(target.closest('[class*="layer-"]'));
    if (idx.length) { select(idx, false); return; }
    var frame = target.closest('.module, .run');
    if (frame && !cur.expanded && frame.classList.contains('repeated')) unfold(frame);
    else if (frame && cur.expanded) fold(frame);
    else select([]);
  }
  foldButton.addEventListener('click', function () { var o = partner(cur); if (o) switchTo(o); });
  document.getElementById('nv-fit').addEventListener('click', fit);
  if (styleSelect) styleSelect.addEventListener('change', function () {
    var want = scenes.filter(function (s) { return s.style === styleSelect.value; });
    switchTo(want.filter(function (s) { return s.expanded === cur.expanded; })[0] || want[0]);
  });

  /* --- the table ----------------------------------------------------------- */
  rows.forEach(function (row, i) {
    row.addEventListener('mouseenter', function () { mark(hovered, 'nv-hover', false); hovered = [i]; mark(hovered, 'nv-hover', true); show(hovered); });
    row.addEventListener('mouseleave', function () { mark(hovered, 'nv-hover', false); hovered = []; show(selected); });
    row.addEventListener('click', function () { select([i], true); });
  });

  /* --- search -------------------------------------------------------------- */
  var next = 0;
  function updateFound() {
    if (!search) return;
    var q = search.value.trim();
    if (!q) { found.textContent = ''; return; }
    var here = drawnIn(cur, hits).length;
    found.textContent = hits.length + (hits.length === 1 ? ' layer' : ' layers') +
      (here < hits.length ? ', ' + here + ' drawn here' : '');
  }
  if (search) search.addEventListener('input', function () {
    var q = search.value.trim().toLowerCase();
    mark(hits, 'nv-hit', false);
    hits = !q ? [] : layers.map(function (l, i) { return i; }).filter(function (i) {
      return layers[i].name.toLowerCase().indexOf(q) >= 0 || layers[i].type.toLowerCase().indexOf(q) >= 0;
    });
    mark(hits, 'nv-hit', true);
    next = 0;
    updateFound();
  });
  if (search) search.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' || !hits.length) return;
    e.preventDefault();
    select([hits[next % hits.length]], true);
    next += 1;
    updateFound();
  });

  /* --- downloads: what the window shows ----------------------------------------- */
  function visible() {
    var b = cur.box, f = cur.full;
    var x = Math.max(b.x, f.x), y = Math.max(b.y, f.y);
    var x1 = Math.min(b.x + b.w, f.x + f.w), y1 = Math.min(b.y + b.h, f.y + f.h);
    return x1 > x && y1 > y ? {x: x, y: y, w: x1 - x, h: y1 - y} : f;
  }
  function exported() {
    var r = visible(), svg = cur.svg.cloneNode(true);
    svg.querySelectorAll('.nv-hit, .nv-hover, .nv-selected, .nv-flash').forEach(function (e) {
      e.classList.remove('nv-hit', 'nv-hover', 'nv-selected', 'nv-flash');
    });
    var top = cur.svg.getAttribute('data-drawn-top');
    if (top !== null && r.y <= cur.full.y + 0.5) {  // the figure's top shows: with the title it draws
      r = {x: r.x, y: +top, w: r.w, h: r.h + r.y - top};
    }
    svg.removeAttribute('class');
    svg.removeAttribute('data-prefix');
    svg.removeAttribute('data-drawn-top');
    svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    svg.setAttribute('viewBox', [r.x, r.y, r.w, r.h].map(function (v) { return +v.toFixed(2); }).join(' '));
    svg.setAttribute('width', +r.w.toFixed(2));
    svg.setAttribute('height', +r.h.toFixed(2));
    return {text: new XMLSerializer().serializeToString(svg), w: r.w, h: r.h};
  }
  function fileName(ext) {
    var base = (data.title || 'netviz').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'netviz';
    return base + '-' + cur.style + (cur.expanded ? '-unfolded' : '') + '.' + ext;
  }
  function save(blob, name) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  document.getElementById('nv-svg').addEventListener('click', function () {
    save(new Blob([exported().text], {type: 'image/svg+xml'}), fileName('svg'));
  });
  document.getElementById('nv-png').addEventListener('click', function () {
    var x = exported(), k = Math.min(2, 16000 / x.w, 16000 / x.h, Math.sqrt(6e7 / (x.w * x.h)));
    var img = new Image();
    img.onload = function () {
      var c = document.createElement('canvas');
      c.width = Math.max(1, Math.round(x.w * k));
      c.height = Math.max(1, Math.round(x.h * k));
      var g = c.getContext('2d');
      g.fillStyle = '#ffffff';
      g.fillRect(0, 0, c.width, c.height);
      g.drawImage(img, 0, 0, c.width, c.height);
      c.toBlob(function (b) { save(b, fileName('png')); }, 'image/png');
    };
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(x.text);
  });

  switchTo(cur);
  window.netviz = {scene: function () { return {style: cur.style, expanded: cur.expanded, box: cur.box}; }};
})();
