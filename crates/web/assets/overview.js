// 总览: the 24-hour and 30-day charts, redrawn every five minutes. The page
// passes its year/month query in data-query (escaped by askama).
(function () {
  'use strict';
  function draw() {
    if (!window.echarts) { setTimeout(draw, 200); return; }
    var box = document.getElementById('ov-charts');
    if (!box) return;
    var q = box.getAttribute('data-query') || '';
    fetch('/overview/charts.json' + q, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var pm = (d.targets || []).filter(function (t) { return t.key === 'air-pm25'; })[0];
        var target = pm && pm.value !== null ? Number(pm.value) : null;
        [['chart-24h', d.hours], ['chart-30d', d.days]].forEach(function (c) {
          var el = document.getElementById(c[0]);
          var rows = c[1];
          var chart = echarts.getInstanceByDom(el) || echarts.init(el);
          chart.setOption({
            tooltip: { trigger: 'axis' }, legend: { data: ['AQI', 'PM2.5'] },
            xAxis: { type: 'category', data: rows.map(function (x) { return x.t; }) },
            yAxis: { type: 'value' },
            series: [
              // Bars in the AQI level's colour (HJ 633); PM2.5 against its target.
              { name: 'AQI', type: 'bar', data: rows.map(function (x) {
                  return { value: x.aqi, itemStyle: { color: x.color || '#cccccc' } };
                }) },
              { name: 'PM2.5', type: 'line', data: rows.map(function (x) { return x.pm25; }),
                markLine: target === null ? undefined : {
                  symbol: 'none', lineStyle: { color: '#c00', type: 'dashed' },
                  label: { formatter: 'PM2.5 目标 ' + target },
                  data: [{ yAxis: target }]
                } }
            ]
          });
        });
      });
  }
  document.addEventListener('DOMContentLoaded', function () {
    draw();
    setInterval(draw, 300000);
    window.addEventListener('resize', function () {
      ['chart-24h', 'chart-30d'].forEach(function (id) {
        var c = window.echarts && echarts.getInstanceByDom(document.getElementById(id));
        if (c) c.resize();
      });
    });
  });
})();
