/* Recording an announcement in the browser (MediaRecorder). Progressive enhancement: the
 * field is a plain file input (the phone's recorder or a file) and stays one where the
 * browser cannot record. Otherwise a Record button asks for the microphone (never on page
 * load), records until Stop or data-voice-record seconds, puts the recording into the file
 * input (so the form sends it like a chosen file) and plays it back before posting. */
(function () {
  "use strict";
  if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
      typeof window.DataTransfer !== "function") {
    return;
  }

  function extensionOf(type) {
    if (type.indexOf("ogg") >= 0) { return "ogg"; }
    if (type.indexOf("mp4") >= 0) { return "m4a"; }
    return "webm";
  }

  function setUp(input) {
    var limit = parseInt(input.getAttribute("data-voice-record"), 10);
    var maxBytes = parseInt(input.getAttribute("data-voice-max-bytes"), 10);
    var box = document.createElement("div");
    box.className = "voice-recorder my-2";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-danger voice-record";
    button.textContent = input.getAttribute("data-text-record");
    var status = document.createElement("p");
    status.className = "small mb-1 voice-status";
    status.setAttribute("role", "status");
    var player = document.createElement("audio");
    player.controls = true;
    player.hidden = true;
    player.className = "w-100 voice-preview";
    box.appendChild(button);
    box.appendChild(status);
    box.appendChild(player);
    input.parentNode.insertBefore(box, input);

    var recorder = null;
    var timer = null;
    var started = 0;

    function say(name, seconds) {
      status.textContent = input.getAttribute(name).replace("%(seconds)s", String(seconds));
    }

    function stop() {
      if (recorder && recorder.state === "recording") { recorder.stop(); }
    }

    function finished(chunks, stream) {
      window.clearInterval(timer);
      stream.getTracks().forEach(function (track) { track.stop(); });
      var type = (recorder.mimeType || "audio/webm").split(";")[0];
      var blob = new Blob(chunks, { type: type });
      var seconds = Math.round((Date.now() - started) / 1000);
      button.textContent = input.getAttribute("data-text-again");
      if (blob.size > maxBytes) {
        status.textContent = input.getAttribute("data-text-too-large")
          .replace("%(size)s", Math.round(blob.size / 1024) + " KB");
        return;
      }
      var file = new File([blob], "recording." + extensionOf(type), { type: type });
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      player.src = URL.createObjectURL(blob);
      player.hidden = false;
      say("data-text-recorded", seconds);
    }

    button.addEventListener("click", function () {
      if (recorder && recorder.state === "recording") { stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) { chunks.push(event.data); }
        });
        recorder.addEventListener("stop", function () { finished(chunks, stream); });
        started = Date.now();
        recorder.start();
        button.textContent = input.getAttribute("data-text-stop");
        say("data-text-recording", 0);
        timer = window.setInterval(function () {
          var seconds = Math.round((Date.now() - started) / 1000);
          say("data-text-recording", seconds);
          if (seconds >= limit) { stop(); }
        }, 1000);
      }, function () {
        status.textContent = input.getAttribute("data-text-no-microphone");
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-voice-record]"), setUp);
})();
