// Shared page code. Loaded without `defer` from base.html so that `window.gj`
// exists before any page script runs. No script of this platform builds HTML
// from data: text goes into the page through textContent / text nodes only
// (the Content-Security-Policy forbids inline scripts and handlers besides).
(function () {
  'use strict';
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : '';
  }
  // One element holding `lines` as text, one line each: what the ECharts
  // tooltips return (ECharts 5 accepts an HTMLElement from a formatter, so
  // no HTML string is ever composed from series names, values or flags).
  function textLines(lines) {
    var box = document.createElement('div');
    lines.forEach(function (line, i) {
      if (i > 0) box.appendChild(document.createElement('br'));
      box.appendChild(document.createTextNode(String(line)));
    });
    return box;
  }
  // Show the answer of an upload (short server-rendered, askama-escaped
  // <p>/<ul> fragments) without inserting any HTML: the answer is parsed in
  // an inert document (nothing in it runs or loads) and rebuilt from its
  // text, keeping only <p>, <ul> and <li> and their class and id.
  var KEEP = { P: true, UL: true, LI: true };
  function rebuild(src) {
    var el = document.createElement(src.tagName.toLowerCase());
    ['class', 'id'].forEach(function (a) {
      if (src.hasAttribute(a)) el.setAttribute(a, src.getAttribute(a));
    });
    var kids = Array.prototype.filter.call(src.children, function (c) { return KEEP[c.tagName]; });
    if (kids.length === 0) { el.textContent = src.textContent; }
    kids.forEach(function (c) { el.appendChild(rebuild(c)); });
    return el;
  }
  function showResult(out, response) {
    return response.text().then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      out.textContent = '';
      Array.prototype.forEach.call(doc.body.children, function (c) {
        if (KEEP[c.tagName]) out.appendChild(rebuild(c));
      });
      if (!out.firstChild) {
        var p = document.createElement('p');
        p.className = response.ok ? 'flash ok' : 'flash error';
        p.textContent = doc.body.textContent.trim() ||
          (response.ok ? '完成' : '请求失败（HTTP ' + response.status + '）');
        out.appendChild(p);
      }
    });
  }
  // Upload the file chosen in `input` to `url` when `button` is clicked and
  // show the answer in `out`.
  function upload(button, input, out, url) {
    button.addEventListener('click', function () {
      var f = input.files[0];
      if (!f) return;
      out.textContent = '导入中…';
      fetch(url + '?name=' + encodeURIComponent(f.name), {
        method: 'POST', body: f, credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrf() }
      }).then(function (r) { return showResult(out, r); })
        .catch(function () { out.textContent = '上传失败，请检查网络后重试'; });
    });
  }
  window.gj = { csrf: csrf, textLines: textLines, showResult: showResult, upload: upload };

  // Send the session's CSRF token with every htmx request.
  document.addEventListener('htmx:configRequest', function (e) {
    e.detail.headers['X-CSRF-Token'] = csrf();
  });
  // Ask before destructive actions marked with data-confirm.
  document.addEventListener('submit', function (e) {
    var msg = e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
  // Print buttons (the 月调度 report): <a data-print>.
  document.addEventListener('click', function (e) {
    var t = e.target.closest && e.target.closest('[data-print]');
    if (t) { e.preventDefault(); window.print(); }
  });
  // The air import (大气 page).
  document.addEventListener('DOMContentLoaded', function () {
    var b = document.getElementById('air-upload');
    if (b) {
      upload(b, document.getElementById('air-file'), document.getElementById('air-result'), '/air/import');
    }
  });
})();
