/* The notice on a phone: below a tablet's width its sections start folded, all but the
 * ledger's totals, so the page opens on the month's figures; printing unfolds them all.
 * Without JavaScript every section starts open and still folds by its heading (<details>).
 * Loaded at the end of the page, not deferred: the sections fold before the first paint. */
(function () {
  "use strict";
  var folds = Array.prototype.slice.call(document.querySelectorAll("details.notice-fold"));
  if (window.matchMedia("(max-width: 767.98px)").matches) {
    folds.forEach(function (fold) {
      if (!fold.closest(".notice-ledger")) {
        fold.open = false;
      }
    });
  }
  var folded = [];
  window.addEventListener("beforeprint", function () {
    folded = folds.filter(function (fold) { return !fold.open; });
    folded.forEach(function (fold) { fold.open = true; });
  });
  window.addEventListener("afterprint", function () {
    folded.forEach(function (fold) { fold.open = false; });
    folded = [];
  });
})();
