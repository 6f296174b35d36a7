// 一张图: draws GET /api/v1/map with the vendored Leaflet. Every text from
// the server (site and case names come from spreadsheets) goes into the
// page as textContent or as a DOM node, never as HTML.
(function () {
  'use strict';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // A path of the platform itself, or nothing.
  function safeLink(href) {
    return typeof href === 'string' && href.charAt(0) === '/' && href.charAt(1) !== '/' &&
      href.indexOf('\\') < 0 ? href : null;
  }

  function swatch(color) {
    var s = el('span', 'map-swatch');
    s.style.backgroundColor = color;
    return s;
  }

  function popup(p) {
    var box = el('div', 'map-pop');
    box.appendChild(el('strong', null, p.name));
    var st = el('div', 'status');
    st.appendChild(swatch(p.color));
    st.appendChild(document.createTextNode(' ' + p.status));
    box.appendChild(st);
    (p.lines || []).forEach(function (line) { box.appendChild(el('div', 'line', line)); });
    var href = safeLink(p.link);
    if (href) {
      var a = el('a', null, p.link_text || '查看');
      a.href = href;
      box.appendChild(a);
    }
    return box;
  }

  // Each layer's marker look besides its colour.
  var STYLE = {
    air: { radius: 8, color: '#ffffff', weight: 2 },
    sources: { radius: 6, color: '#222222', weight: 1 },
    water: { radius: 7, color: '#0d47a1', weight: 3 },
    fires: { radius: 6, color: '#7a1f00', weight: 2, dashArray: '2 2' },
    cases: { radius: 7, color: '#000000', weight: 2 }
  };

  function draw(box, d) {
    var map = L.map(box, { zoomControl: false, attributionControl: true, zoomSnap: 0.25 });
    L.control.zoom({ zoomInTitle: '放大', zoomOutTitle: '缩小' }).addTo(map);
    map.attributionControl.setPrefix(false);
    var groups = {};
    var bounds = null;

    if (d.tiles && typeof d.tiles.url === 'string') {
      // Leaflet writes the attribution as HTML: give it escaped text.
      var holder = el('span', null, d.tiles.attribution || '');
      L.tileLayer(d.tiles.url, { attribution: holder.innerHTML, maxZoom: 18 }).addTo(map);
    }

    if (d.boundaries) {
      var outline = L.geoJSON(d.boundaries, {
        style: function (f) {
          var district = f.properties && f.properties.level === 'district';
          return district
            ? { color: '#1f4e79', weight: 3, fill: false, className: 'map-boundary' }
            : { color: '#5b7fa6', weight: 1.5, dashArray: '5 4', fillColor: '#dde7f2',
                fillOpacity: 0.35, className: 'map-boundary' };
        },
        onEachFeature: function (f, layer) {
          var name = f.properties && f.properties.name;
          if (name && f.properties.level !== 'district') {
            layer.bindTooltip(el('span', null, name),
              { permanent: true, direction: 'center', className: 'map-label' });
          }
        },
        interactive: false
      });
      groups.boundaries = outline.addTo(map);
      bounds = outline.getBounds();
    }

    var legend = document.getElementById('map-legend');
    (d.layers || []).forEach(function (layer) {
      var g = L.layerGroup();
      var look = STYLE[layer.key] || STYLE.sources;
      (layer.points || []).forEach(function (p) {
        if (typeof p.lat !== 'number' || typeof p.lon !== 'number') return;
        var m = L.circleMarker([p.lat, p.lon], {
          radius: look.radius, color: look.color, weight: look.weight,
          dashArray: look.dashArray, fillColor: p.color, fillOpacity: 0.9,
          className: 'map-marker map-marker-' + layer.key
        });
        m.bindPopup(popup(p));
        m.bindTooltip(el('span', null, p.name));
        g.addLayer(m);
        if (bounds === null) bounds = L.latLngBounds([p.lat, p.lon], [p.lat, p.lon]);
        else if (!d.boundaries) bounds.extend([p.lat, p.lon]);
      });
      groups[layer.key] = g.addTo(map);

      var count = document.querySelector('[data-count="' + layer.key + '"]');
      if (count) count.textContent = '（' + (layer.points || []).length + '）';

      var h = el('h3', null, layer.label);
      legend.appendChild(h);
      var ul = el('ul');
      (layer.legend || []).forEach(function (e) {
        var li = el('li');
        li.appendChild(swatch(e.color));
        li.appendChild(document.createTextNode(e.label));
        ul.appendChild(li);
      });
      legend.appendChild(ul);
      var notes = [];
      if (layer.note) notes.push(layer.note);
      if (layer.unplaced > 0) notes.push(layer.unplaced + ' 个无坐标，未显示');
      if (notes.length) legend.appendChild(el('p', 'muted small', notes.join('；')));
    });

    if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 13 });
    else map.setView([35.15, 113.85], 10);

    document.querySelectorAll('#map-layers input[type=checkbox]').forEach(function (c) {
      c.addEventListener('change', function () {
        var g = groups[c.value];
        if (!g) return;
        if (c.checked) g.addTo(map); else map.removeLayer(g);
      });
    });

    document.getElementById('map-note').textContent = d.boundaries_note || '';
    // Recompute the size once the page's layout has settled (phone toolbar).
    window.addEventListener('resize', function () { map.invalidateSize(); });
    box.setAttribute('data-state', 'ready');
  }

  document.addEventListener('DOMContentLoaded', function () {
    var box = document.getElementById('map');
    if (!box) return;
    var note = document.getElementById('map-note');
    if (!window.L) {
      note.textContent = '地图组件未能加载';
      box.setAttribute('data-state', 'error');
      return;
    }
    fetch('/api/v1/map', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.message ? body.message : ('HTTP ' + r.status));
          return body;
        });
      })
      .then(function (d) { draw(box, d); })
      .catch(function (e) {
        note.textContent = '地图数据加载失败：' + (e && e.message ? e.message : e);
        box.setAttribute('data-state', 'error');
      });
  });
})();
