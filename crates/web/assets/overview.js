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
        [['chart-24h', d.hours], ['chart-30d', d.days]].forEach(function (c) {
          var el = document.getElementById(c[0]);
          var rows = c[1];
          var chart = echarts.getInstanceByDom(el) || echarts.init(el);
          chart.setOption({
            tooltip: { trigger: 'axis' }, legend: { data: ['AQI', 'PM2.5'] },
            xAxis: { type: 'category', data: rows.map(function (x) { return x.t; }) },
            yAxis: { type: 'value' },
            series: [
              { name: 'AQI', type: 'bar', data: rows.map(function (x) { return x.aqi; }) },
              { name: 'PM2.5', type: 'line', data: rows.map(function (x) { return x.pm25; }) }
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
