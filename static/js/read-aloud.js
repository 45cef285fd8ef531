/* 朗读: a button that reads the figures on the page aloud in Chinese with the phone's own voice.
 * Progressive enhancement: the button ships hidden and is shown only where the browser has
 * speechSynthesis. The sentence to speak is rendered by the server in data-speak; a button
 * with data-speak-lines="N" goes on with the first N sentences found in data-speak-line
 * attributes on the page (the balance page: the history's latest lines). */
(function () {
  "use strict";
  if (!window.speechSynthesis || typeof window.SpeechSynthesisUtterance !== "function") {
    return;
  }

  function textOf(button) {
    var text = button.getAttribute("data-speak");
    var count = parseInt(button.getAttribute("data-speak-lines") || "0", 10);
    var lines = Array.prototype.slice.call(document.querySelectorAll("[data-speak-line]"), 0, count);
    if (lines.length) {
      text += " " + (button.getAttribute("data-speak-lines-title") || "");
      lines.forEach(function (line) {
        text += " " + line.getAttribute("data-speak-line");
      });
    }
    return text;
  }

  var buttons = document.querySelectorAll("[data-speak]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var utterance = new window.SpeechSynthesisUtterance(textOf(button));
      utterance.lang = "zh-CN";
      utterance.rate = 0.85; // a little slower than usual: easier for elderly listeners
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(utterance);
    });
  });
})();
