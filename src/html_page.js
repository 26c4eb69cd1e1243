/* cifar-act pages: plain JavaScript, inlined by src/html.c after the page's data
 * (<script type="application/json" id="cact-data">). No framework, no network:
 * everything works from file://. Pixel values never come from a canvas (a PNG
 * loaded from file:// taints it); input bytes come from html/px_FFFF.js and output
 * values from the embedded per-channel tables. */
'use strict';
(function () {
  var D = JSON.parse(document.getElementById('cact-data').textContent);
  var $ = function (id) { return document.getElementById(id); };
  var SIDE = 32, PLANE = 1024, PIX = 3072;

  /* ---- Grid geometry (as src/grid.c lays tiles out) ---- */
  function layout(n) {
    var g = D.grid, single = g.style === 'torchvision' && n === 1;
    var cols = Math.min(g.nrow, n);
    return { cols: cols, rows: Math.ceil(n / cols), pad: single ? 0 : g.padding, s: g.scale };
  }
  /* Image-file pixel (gx, gy) inside a grid region -> {i, x, y} or null on padding. */
  function tileAt(n, gx, gy) {
    var L = layout(n), ux = Math.floor(gx / L.s), uy = Math.floor(gy / L.s);
    var col = Math.floor((ux - L.pad) / (SIDE + L.pad)), row = Math.floor((uy - L.pad) / (SIDE + L.pad));
    var x = ux - L.pad - col * (SIDE + L.pad), y = uy - L.pad - row * (SIDE + L.pad);
    if (col < 0 || row < 0 || col >= L.cols || x < 0 || y < 0 || x >= SIDE || y >= SIDE) return null;
    var i = row * L.cols + col;
    return i < n ? { i: i, x: x, y: y, col: col, row: row } : null;
  }
  function tileOrigin(n, i) {
    var L = layout(n), col = i % L.cols, row = Math.floor(i / L.cols);
    return { x: (L.pad + col * (SIDE + L.pad)) * L.s, y: (L.pad + row * (SIDE + L.pad)) * L.s, w: SIDE * L.s };
  }
  function zoomValue() {
    var z = +$('zoom').value;
    return z > 0 ? z : 1 / (window.devicePixelRatio || 1);
  }
  /* Show region (rx, ry, rw, rh) of image im ([file, fw, fh, x, y, w, h]) in clip at zoom z. */
  function place(clip, img, im, z, rx, ry, rw, rh) {
    if (img.getAttribute('src') !== im[0]) img.src = im[0];
    clip.style.width = rw * z + 'px';
    clip.style.height = rh * z + 'px';
    img.style.width = im[1] * z + 'px';
    img.style.height = im[2] * z + 'px';
    img.style.left = -rx * z + 'px';
    img.style.top = -ry * z + 'px';
  }
  function fmt(v) { return v === null ? 'NaN' : (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4)); }
  function className(l) { return D.classes[l] !== undefined ? D.classes[l] : '?'; }

  if (D.kind === 'gallery') { gallery(); return; }

  /* ---- The viewer ---- */
  var N = D.b.length, step = -1, pinned = null, hover = null, px = {}, pxWant = -1;
  var where = {};
  D.b.forEach(function (bt, k) { bt.idx.forEach(function (idx, i) { where[idx] = [k, i]; }); });

  /* html/px_FFFF.js holds steps F*G .. F*G+G-1 (G = D.pxg), their bytes one after
   * the other (src/html.h); only the file of the inspected step is kept. */
  var G = D.pxg || 1;
  function pxName(f) { var s = String(f); while (s.length < 4) s = '0' + s; return 'html/px_' + s + '.js'; }
  window.cactPx = function (f, b64) {
    var s = atob(b64), a = new Uint8Array(s.length);
    for (var j = 0; j < s.length; j++) a[j] = s.charCodeAt(j);
    px[f] = a;
    if (Math.floor(step / G) === f) detail();
  };
  /* Step k's bytes: [file's bytes, offset of the step in them], or null. */
  function pxOf(k) {
    var f = Math.floor(k / G), a = px[f], off = 0;
    if (!a) return null;
    for (var j = f * G; j < k; j++) off += D.b[j].n * PIX;
    return [a, off];
  }
  function loadPx(k) {
    var f = Math.floor(k / G);
    if (!D.px || px[f] || pxWant === f) return;
    pxWant = f;
    for (var key in px) if (+key !== f) delete px[key];
    var sc = document.createElement('script');
    sc.src = pxName(f);
    sc.onload = function () { sc.remove(); };
    document.body.appendChild(sc);
  }

  function draw() {
    var bt = D.b[step], z = zoomValue(), i = bt.i, o = bt.o;
    place($('in-clip'), $('in-img'), i, z, i[3], i[4], i[5], i[6]);
    place($('out-clip'), $('out-img'), o, z, o[3], o[4], o[5], o[6]);
    place($('bl-clip'), $('bl-in'), i, z, i[3], i[4], i[5], i[6]);
    place($('bl-clip'), $('bl-out'), o, z, o[3], o[4], o[5], o[6]);
    marks();
  }
  function marks() {
    var t = pinned || hover, bt = D.b[step], z = zoomValue();
    document.querySelectorAll('.view .mark').forEach(function (m) {
      if (!t) { m.style.display = 'none'; return; }
      var r = tileOrigin(bt.n, t.i);
      m.style.display = 'block';
      m.style.left = r.x * z - 2 + 'px'; m.style.top = r.y * z - 2 + 'px';
      m.style.width = m.style.height = r.w * z + 4 + 'px';
    });
  }
  function show(k) {
    k = Math.max(0, Math.min(N - 1, k | 0));
    if (k !== step) { pinned = null; hover = null; }
    step = k;
    var bt = D.b[k];
    $('slider').value = k;
    if (document.activeElement !== $('step')) $('step').value = k;
    $('in-link').textContent = bt.i[0]; $('in-link').href = bt.i[0];
    $('out-link').textContent = bt.o[0]; $('out-link').href = bt.o[0];
    $('why-step').textContent = k;
    $('plot-hin').setAttribute('d', bt.hi);
    var ho = $('plot-hout'); if (ho) ho.setAttribute('d', bt.ho);
    document.title = document.title.replace(/ \u00b7 step \d+$/, '') + ' \u00b7 step ' + k;
    draw();
    detail();
    /* Only the neighbours are fetched ahead; nothing else is loaded. */
    [k - 1, k + 1].forEach(function (j) {
      if (j < 0 || j >= N) return;
      [D.b[j].i[0], D.b[j].o[0]].forEach(function (f) { var im = new Image(); im.src = f; });
    });
    loadPx(k);
  }
  function go(k) {
    k = Math.max(0, Math.min(N - 1, k | 0));
    show(k);
    /* A new history entry, so the back button returns; hashchange then finds k shown. */
    if (location.hash !== '#' + k) location.hash = '#' + k;
  }
  function hashStep() {
    var m = /^#(\d+)$/.exec(location.hash);
    return m ? Math.min(N - 1, +m[1]) : 0;
  }

  function detail() {
    var t = pinned || hover, bt = D.b[step];
    var info = $('tile-info'), pi = $('pixel-info');
    var ei = $('enl-in'), eo = $('enl-out');
    if (!t) {
      info.textContent = 'Hover or tap a tile.';
      pi.textContent = ''; ei.style.display = eo.style.display = 'none';
      return;
    }
    var idx = bt.idx[t.i], lab = bt.lab[t.i];
    info.innerHTML = '';
    var lines = ['dataset index ' + idx, 'label ' + lab + ': ' + className(lab),
                 'step ' + step + ', tile ' + t.i + ' (row ' + t.row + ', column ' + t.col + ')'];
    lines.forEach(function (s, j) {
      var d = document.createElement(j ? 'div' : 'strong');
      d.textContent = s; d.className = ['t-idx', 't-class', 't-pos'][j];
      info.appendChild(d);
    });
    var r = tileOrigin(bt.n, t.i), e = Math.max(1, Math.round(8 / D.grid.scale));
    ei.style.display = eo.style.display = '';
    place(ei, ei.querySelector('img'), bt.i, e, bt.i[3] + r.x, bt.i[4] + r.y, r.w, r.w);
    place(eo, eo.querySelector('img'), bt.o, e, bt.o[3] + r.x, bt.o[4] + r.y, r.w, r.w);
    [ei, eo].forEach(function (c) {
      var x = c.querySelector('.cross');
      x.style.display = 'block';
      x.style.left = t.x * D.grid.scale * e + 'px'; x.style.top = t.y * D.grid.scale * e + 'px';
      x.style.width = x.style.height = D.grid.scale * e + 'px';
    });
    var pa = pxOf(step);
    if (!pa) {
      pi.textContent = 'pixel (' + t.x + ', ' + t.y + '): ' +
        (D.px ? 'loading values\u2026' : 'no pixel values: this run wrote the page without its pixel files');
      return;
    }
    var a = pa[0], off = pa[1] + t.i * PIX + t.y * SIDE + t.x, bytes = [], inv = [], out = [], q = [];
    for (var c = 0; c < 3; c++) {
      var v = a[off + c * PLANE];
      bytes.push(v); inv.push(fmt(D.inv[c][v]));
      if (D.lut) { out.push(fmt(D.lut[c][v])); if (D.q) q.push(D.q[c][v]); }
    }
    pi.innerHTML = '';
    var rows = ['pixel (' + t.x + ', ' + t.y + ')', 'input bytes R G B: ' + bytes.join(' '),
                'input values: ' + inv.join(' ')];
    if (D.lut) rows.push('output values: ' + out.join(' '),
                         D.q ? 'output pixel: ' + q.join(' ') : 'output pixel: per batch (grid normalize)');
    else rows.push('output values: channel-wise chain, not per byte');
    rows.forEach(function (s, j) {
      var d = document.createElement('div'); d.textContent = s; d.className = 'p' + j; pi.appendChild(d);
    });
  }
  function pointer(ev, clip, isPin) {
    var bt = D.b[step], z = zoomValue(), rect = clip.getBoundingClientRect();
    var gx = Math.floor((ev.clientX - rect.left) / z), gy = Math.floor((ev.clientY - rect.top) / z);
    var t = tileAt(bt.n, gx, gy);
    if (isPin) pinned = t; else hover = t;
    marks(); detail();
  }
  ['in-clip', 'out-clip', 'bl-clip'].forEach(function (id) {
    var c = $(id);
    c.addEventListener('mousemove', function (e) { pointer(e, c, false); });
    c.addEventListener('mouseleave', function () { hover = null; marks(); detail(); });
    c.addEventListener('click', function (e) { pointer(e, c, true); });
  });

  $('first').onclick = function () { go(0); };
  $('prev').onclick = function () { go(step - 1); };
  $('next').onclick = function () { go(step + 1); };
  $('last').onclick = function () { go(N - 1); };
  $('slider').addEventListener('input', function () {
    /* Dragging replaces the history entry instead of adding one per position. */
    history.replaceState(null, '', '#' + this.value);
    show(+this.value);
  });
  $('step').addEventListener('change', function () { go(+this.value); });
  $('step').addEventListener('keydown', function (e) { if (e.key === 'Enter') go(+this.value); });
  $('zoom').addEventListener('change', function () { draw(); detail(); });
  $('find').addEventListener('change', function () {
    var w = where[+this.value];
    if (this.value === '' || !w) { $('findmsg').textContent = this.value === '' ? '' : 'not in this run'; return; }
    $('findmsg').textContent = 'step ' + w[0] + ', tile ' + w[1];
    go(w[0]);
    var o = layout(D.b[w[0]].n);
    pinned = { i: w[1], x: 0, y: 0, col: w[1] % o.cols, row: Math.floor(w[1] / o.cols) };
    marks(); detail();
  });
  document.addEventListener('keydown', function (e) {
    var t = e.target.tagName;
    if (t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA' || e.altKey || e.ctrlKey || e.metaKey) return;
    var k = { ArrowLeft: step - 1, ArrowRight: step + 1, Home: 0, End: N - 1 }[e.key];
    if (k === undefined) return;
    e.preventDefault();
    go(k);
  });
  window.addEventListener('hashchange', function () { show(hashStep()); });

  /* Compare: fade the output over the input, or flicker between them. */
  var flick = null;
  function blend() { $('bl-out').style.opacity = $('blend').value / 100; }
  $('blend').addEventListener('input', blend);
  $('flicker').addEventListener('change', function () {
    clearInterval(flick); flick = null;
    if (this.checked) flick = setInterval(function () {
      var o = $('bl-out'); o.style.opacity = o.style.opacity === '0' ? '1' : '0';
    }, 500);
    else blend();
  });
  window.addEventListener('resize', draw);
  /* Start at the largest zoom up to 4x that keeps a grid within ~560 CSS pixels. */
  $('zoom').value = String(Math.max(1, Math.min(4, Math.floor(560 / D.b[0].i[5]))));
  blend();
  show(hashStep());
  if (location.hash !== '#' + step) history.replaceState(null, '', '#' + step);

  /* ---- The gallery ---- */
  function gallery() {
    var cards = document.querySelectorAll('.card');
    function regions() {
      var z = zoomValue();
      cards.forEach(function (card) {
        var k = +card.getAttribute('data-card'), im = k < 0 ? D.input : D.cards[k];
        place(card.querySelector('.clip'), card.querySelector('.clip img'), im, z, im[3], im[4], im[5], im[6]);
      });
    }
    cards.forEach(function (card) {
      var clip = card.querySelector('.clip');
      clip.addEventListener('mousemove', function (e) {
        var z = zoomValue(), r = clip.getBoundingClientRect();
        var t = tileAt(D.n, Math.floor((e.clientX - r.left) / z), Math.floor((e.clientY - r.top) / z));
        $('tile-info').textContent = t ? 'dataset index ' + D.idx[t.i] + ', label ' + D.lab[t.i] + ': ' +
          className(D.lab[t.i]) : '';
      });
    });
    $('zoom').addEventListener('change', regions);
    regions();
  }
})();
