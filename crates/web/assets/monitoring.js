// 污染源 pages: site import upload and the ECharts series of a site page.
(function () {
  'use strict';
  // HJ 212-2017 data flags (table 8), as gongjian_standards::emission::Flag::label reads them.
  var FLAG_LABELS = { N: '正常', F: '停运', M: '维护', S: '手工输入', D: '故障', C: '校准', T: '超量程', B: '通讯异常' };
  var up = document.getElementById('site-upload');
  if (up) {
    window.gj.upload(up, document.getElementById('site-file'),
      document.getElementById('site-result'), '/sources/import');
  }
  var card = document.getElementById('series-card');
  if (!card || typeof echarts === 'undefined') return;
  var site = card.getAttribute('data-site');
  var form = document.getElementById('series-form');
  var charts = document.getElementById('charts');
  var drawn = [];
  function query() {
    var p = new URLSearchParams(new FormData(form));
    ['from', 'to'].forEach(function (k) { if (!p.get(k)) p.delete(k); });
    return p.toString();
  }
  // China Standard Time; with seconds for real-time data, which arrive
  // several times a minute.
  function fmt(t, seconds) {
    var d = new Date((t + 8 * 3600) * 1000);
    return d.toISOString().slice(0, seconds ? 19 : 16).replace('T', ' ');
  }
  function load() {
    var q = query();
    document.getElementById('export-csv').href = '/api/v1/sites/' + site + '/series.csv?' + q;
    document.getElementById('export-xlsx').href = '/api/v1/sites/' + site + '/series.xlsx?' + q;
    fetch('/api/v1/sites/' + site + '/series?' + q, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (list) {
        drawn.forEach(function (c) { c.dispose(); });
        drawn = [];
        charts.textContent = '';
        if (!Array.isArray(list) || list.length === 0) {
          charts.textContent = '所选时段无数据';
          return;
        }
        list.forEach(function (s) {
          var div = document.createElement('div');
          div.className = 'chart';
          charts.appendChild(div);
          var useConv = s.points.some(function (p) { return p.converted !== null; });
          var data = s.points.map(function (p) {
            var v = useConv && p.converted !== null ? p.converted : p.value;
            return [p.period_start * 1000, v === null ? null : Number(v), p.flag];
          });
          var flagged = data.filter(function (d) { return d[2] !== 'N' && d[1] !== null; });
          var series = [{
            name: s.factor, type: 'line', showSymbol: false, connectNulls: false,
            data: data.map(function (d) { return [d[0], d[1]]; }),
            markLine: s.limit ? {
              symbol: 'none', lineStyle: { color: '#cf222e', type: 'dashed' },
              // markLine labels are drawn on the canvas as text, never parsed as HTML.
              // Inside the plot, above the line's end: at the default
              // position past the end the label was cut off by the edge.
              label: { position: 'insideEndTop', formatter: function () { return '限值 ' + s.limit; } }, data: [{ yAxis: Number(s.limit) }]
            } : undefined
          }, {
            name: '非正常标记', type: 'scatter', symbol: 'triangle', symbolSize: 9,
            itemStyle: { color: '#9a6700' },
            data: flagged.map(function (d) { return { value: [d[0], d[1]], flag: d[2] }; })
          }];
          var chart = echarts.init(div);
          drawn.push(chart);
          chart.setOption({
            title: { text: (s.name || s.factor) + (useConv ? '（折算）' : '') + ' ' + s.unit, textStyle: { fontSize: 13 } },
            tooltip: {
              trigger: 'axis', confine: true,
              // A DOM node of text, never an HTML string: series names,
              // units and the logger's flag are data (issue #10, item 1).
              formatter: function (ps) {
                var idx = ps[0].dataIndex;
                var pt = s.points[idx];
                var lines = [fmt(ps[0].value[0] / 1000, s.kind === 'rtd')].concat(ps.map(function (p) {
                  return p.seriesName + ': ' + p.value[1];
                }));
                if (pt) lines.push('标记: ' + pt.flag + '（' + (FLAG_LABELS[pt.flag] || '未知标记') + '）');
                return window.gj.textLines(lines);
              }
            },
            // Axis labels in China Standard Time like the tooltip, whatever the browser's zone.
            xAxis: { type: 'time', axisLabel: { hideOverlap: true, formatter: function (ms) { return fmt(ms / 1000, s.kind === 'rtd').slice(5); } } }, yAxis: { type: 'value', scale: true },
            grid: { left: 50, right: 20, top: 35, bottom: 30 },
            series: series
          });
        });
      });
  }
  form.addEventListener('submit', function (e) { e.preventDefault(); load(); });
  load();
})();
