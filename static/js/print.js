/* Print buttons: <button type="button" data-print hidden> prints the page. A script file rather
 * than onclick="window.print()", which the Content-Security-Policy refuses (no inline handlers).
 * The buttons ship hidden, with a line saying how to print from the browser's menu instead
 * (templates/_print_button.html): where this script runs, the buttons are shown and the
 * lines hidden. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-print-hint]"), function (hint) {
    hint.hidden = true;
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
