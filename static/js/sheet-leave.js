/* A sheet of many rows (the hygiene round, the stock-take) is typed on one page and saved once.
 * Its links that leave it or draw it again (the stock-take's zone tabs, the round's "start with
 * every check ticked/unticked", the way back) dropped what was typed without a word: where this
 * script runs, such a link (data-sheet-leave) asks first, with the words of the form's
 * data-sheet-warning, when a box differs from how the page drew it or when the sheet came back
 * unsaved (data-sheet-unsaved: checked by Enter, or refused). Any other way off the page (the
 * menu, the title bar, Back, a reload, closing the tab) gets the browser's own "Leave site?"
 * question (beforeunload) on the same condition; the sheet's own save, and a link already
 * answered, do not ask again. Without JavaScript the links go as before. No inline code (CSP). */
(function () {
  "use strict";

  function selectChanged(select) {
    var drawn = 0;
    Array.prototype.forEach.call(select.options, function (option, index) {
      if (option.defaultSelected) drawn = index;
    });
    return select.selectedIndex !== drawn;
  }

  function fieldChanged(field) {
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.tagName === "SELECT") return selectChanged(field);
    if (field.tagName === "TEXTAREA") return field.value !== field.defaultValue;
    if (field.tagName !== "INPUT" || ["hidden", "submit", "button", "file"].indexOf(field.type) >= 0) {
      return false;
    }
    return field.value !== field.defaultValue;
  }

  function unsaved(form) {
    return form.hasAttribute("data-sheet-unsaved")
      || Array.prototype.some.call(form.elements, fieldChanged);
  }

  var answered = false;  // left by the sheet's own save or a link whose question was answered

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-sheet-leave]");
    var form = document.querySelector("form[data-sheet-warning]");
    if (!link || !form || !unsaved(form)) return;
    if (window.confirm(form.getAttribute("data-sheet-warning"))) answered = true;
    else event.preventDefault();
  });

  // Only the sheet's own save: the menu's Sign out, the language and large-type switches are
  // forms too, and leave the typed sheet as a link does.
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented && event.target.matches("form[data-sheet-warning]")) {
      answered = true;
    }
  });

  window.addEventListener("beforeunload", function (event) {
    var form = document.querySelector("form[data-sheet-warning]");
    if (answered || !form || !unsaved(form)) return;
    event.preventDefault();
    event.returnValue = "";  // older Chrome (WeChat's) asks only when this is set
  });

  // Back to this page from the browser's page cache: what was answered then is not now.
  window.addEventListener("pageshow", function () {
    answered = false;
  });
})();
