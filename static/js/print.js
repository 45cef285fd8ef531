/* Print buttons: <button type="button" data-print> prints the page. A script file rather than
 * onclick="window.print()", which the Content-Security-Policy refuses (no inline handlers). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
