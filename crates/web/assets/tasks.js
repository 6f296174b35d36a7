// Task page: one ECharts line chart per indicator with the values of the
// accepted reports over time (a line per organisation) and the plan's
// required value as a dashed markLine. The figures come from
// GET /api/v1/tasks/{id}/indicators, the same data as the table below them.
(function () {
  'use strict';
  var box = document.getElementById('indicator-charts');
  if (!box || typeof echarts === 'undefined') return;
  var task = box.getAttribute('data-task');
  function fmt(ms) {
    // China Standard Time, whatever the browser's zone.
    var d = new Date(ms + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 16).replace('T', ' ');
  }
  function draw(s, div) {
    var threshold = Number(s.threshold);
    var orgs = [];
    s.points.forEach(function (p) {
      if (orgs.indexOf(p.organisation) < 0) orgs.push(p.organisation);
    });
    var series = orgs.map(function (org, k) {
      return {
        name: org, type: 'line', symbolSize: 7,
        data: s.points
          .filter(function (p) { return p.organisation === org; })
          .map(function (p) { return [p.at * 1000, Number(p.value)]; }),
        markLine: k === 0 && isFinite(threshold) ? {
          symbol: 'none', lineStyle: { color: '#cf222e', type: 'dashed' },
          label: {
            position: 'insideEndTop',
            // markLine labels are drawn on the canvas as text, never parsed as HTML.
            formatter: function () { return '要求 ' + s.comparator + ' ' + s.threshold + ' ' + s.unit; }
          },
          data: [{ yAxis: threshold }]
        } : undefined
      };
    });
    // Keep the required value in view even when every value is far from it.
    var bound = function (pick) {
      return function (v) { return isFinite(threshold) ? pick(v, threshold) : null; };
    };
    var chart = echarts.init(div);
    chart.setOption({
      title: { text: s.name + '（' + s.unit + '）', textStyle: { fontSize: 13 } },
      legend: { top: 22, data: orgs },
      grid: { top: 60, left: 60, right: 30, bottom: 30 },
      tooltip: {
        trigger: 'item', confine: true,
        formatter: function (p) {
          if (!Array.isArray(p.value)) return '';
          // Text nodes only: organisation names and units are data.
          return window.gj.textLines([fmt(p.value[0]), p.seriesName + '：' + p.value[1] + ' ' + s.unit]);
        }
      },
      xAxis: { type: 'time', axisLabel: { formatter: function (ms) { return fmt(ms).slice(5); } } },
      yAxis: {
        type: 'value', scale: true,
        min: bound(function (v, t) { return Math.min(v.min, t); }),
        max: bound(function (v, t) { return Math.max(v.max, t); })
      },
      series: series
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }
  fetch('/api/v1/tasks/' + encodeURIComponent(task) + '/indicators', { credentials: 'same-origin' })
    .then(function (r) { return r.json(); })
    .then(function (list) {
      if (!Array.isArray(list)) return;
      list.forEach(function (s, i) {
        var div = document.getElementById('indicator-chart-' + i);
        if (div && s.points.length > 0) draw(s, div);
      });
    });
})();
