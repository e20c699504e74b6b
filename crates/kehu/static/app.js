// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Confirm dangerous forms (data-confirm="question").
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var q = form.getAttribute && form.getAttribute("data-confirm");
    if (q && !window.confirm(q)) {
      ev.preventDefault();
    }
  });
  // Flash messages fade after a while.
  var flash = document.querySelector(".flash");
  if (flash) {
    setTimeout(function () { flash.classList.add("flash-hide"); }, 5000);
  }
})();
