// Patrol form: the browser's position (with its accuracy) into the hidden
// longitude/latitude fields. Without permission or a fix the form still
// submits, with no position.
document.addEventListener('DOMContentLoaded', function () {
  var button = document.getElementById('locate');
  var status = document.getElementById('geo-status');
  if (!button || !status) return;
  if (!navigator.geolocation) {
    status.textContent = '此浏览器不支持定位';
    button.disabled = true;
    return;
  }
  button.addEventListener('click', function () {
    status.textContent = '正在定位…';
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById('c-lon').value = p.coords.longitude.toFixed(6);
      document.getElementById('c-lat').value = p.coords.latitude.toFixed(6);
      status.textContent = '已定位：' + p.coords.longitude.toFixed(5) + ', ' + p.coords.latitude.toFixed(5) +
        '（精度约 ' + Math.round(p.coords.accuracy) + ' 米）';
    }, function (e) {
      status.textContent = '定位失败：' + (e.code === 1 ? '未获得定位权限' : '无法取得位置') + '，可不带位置提交';
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
});
