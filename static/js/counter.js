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
  /* Back after a confirmation must not show the balance and cart from before it. The page is
   * sent no-store, which keeps it out of chromium's back-forward cache, but not out of every
   * browser's (Safari's keeps it): a page shown from that cache is fetched again. */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });
})();
