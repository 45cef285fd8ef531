/* The counter: a double-click on confirm sends one request; the one-time key makes any repeat
 * harmless anyway. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("confirm-form")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });
})();
