/* The counter (a double-click on confirm sends one request: send-once.js, for every form). */
(function () {
  "use strict";
  /* Back after a confirmation must not show the balance and cart from before it. The page is
   * sent no-store, which keeps it out of chromium's back-forward cache, but not out of every
   * browser's (Safari's keeps it): a page shown from that cache is fetched again. */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });
  /* The search field opens focused (autofocus) for the scanner, after a page load and after
   * each part htmx swaps in (a search, a cart line). It is drawn empty, the search before
   * said beside it, so the next scan is typed alone, as without JavaScript. */
  function readyForTheScanner() {
    var search = document.getElementById("item-search");
    if (!search || !search.autofocus) return;
    search.focus();
  }
  readyForTheScanner();
  document.addEventListener("htmx:afterSettle", readyForTheScanner);
})();
