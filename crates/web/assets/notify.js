// 消息推送: show only the fields of the chosen channel kind.
(function () {
  var kind = document.getElementById('ch-kind');
  if (!kind) return;
  function show() {
    document.querySelectorAll('[data-kinds]').forEach(function (el) {
      el.hidden = el.getAttribute('data-kinds').split(' ').indexOf(kind.value) < 0;
    });
  }
  kind.addEventListener('change', show);
  show();
})();
