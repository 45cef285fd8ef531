/* 朗读: a button that reads the figures on the page aloud in Chinese with the phone's own voice.
 * Progressive enhancement: the button ships hidden and is shown only where the browser has
 * speechSynthesis. The sentence to speak is rendered by the server in data-speak. */
(function () {
  "use strict";
  if (!window.speechSynthesis || typeof window.SpeechSynthesisUtterance !== "function") {
    return;
  }
  var buttons = document.querySelectorAll("[data-speak]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var utterance = new window.SpeechSynthesisUtterance(button.getAttribute("data-speak"));
      utterance.lang = "zh-CN";
      utterance.rate = 0.85; // a little slower than usual: easier for elderly listeners
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(utterance);
    });
  });
})();
