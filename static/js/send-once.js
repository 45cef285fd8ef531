/* A double tap sends a form once. The browser shows the answer to the last request it sent,
 * and a second tap on a slow link sends the form again: the one-time keys make the repeat
 * harmless, but its answer can read as a failure (a PIN changed twice signs the household
 * out, a wish withdrawn twice "has been withdrawn already"). So a POST form sent natively is
 * not sent again for a few seconds, nor until the page is left, unless Back brings it again.
 * Forms a script sends itself (htmx, photo-upload.js) cancel the submit event and are left
 * to it. No inline code (CSP); without JavaScript the one-time keys still hold. */
(function () {
  "use strict";
  var AGAIN_AFTER_MS = 10000; // then a tap is a retry (a link that dropped), not a repeat

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") {
      return;
    }
    var sentAt = Number(form.dataset.sentAt || 0);
    if (sentAt && Date.now() - sentAt < AGAIN_AFTER_MS) {
      event.preventDefault();
      return;
    }
    form.dataset.sentAt = String(Date.now());
  });

  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(document.forms, function (form) {
      delete form.dataset.sentAt;
    });
  });
})();
