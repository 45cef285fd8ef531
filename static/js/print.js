/* Print buttons: <button type="button" data-print hidden> prints the page. A script file rather
 * than onclick="window.print()", which the Content-Security-Policy refuses (no inline handlers).
 * The buttons ship hidden, with a line saying how to print from the browser's menu instead
 * (templates/_print_button.html): where this script runs, the buttons are shown and the
 * lines hidden; in an app's built-in browser, which cannot print, both stay hidden. */
(function () {
  "use strict";
  // An app's built-in browser (WeChat's, or any Android WebView, "; wv)" in its user agent)
  // has no printing: window.print() does nothing there, and it has no Print in a menu either.
  // Its buttons stay hidden, and so do the lines about the browser's menu.
  var cannotPrint = /MicroMessenger|; wv\)/.test(navigator.userAgent);
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = cannotPrint;
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
