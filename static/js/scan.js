/* Scanning a points card's QR code with the device's camera (templates/_scan_camera.html).
 *
 * Progressive enhancement: the box ships hidden and is shown only where the browser can open a
 * camera; typing and USB scanners (which type the code and Enter) work as before. The camera is
 * opened only when the button is pressed and stopped as soon as a card is read, on Cancel, and
 * when the page is left. Decoding: the browser's own BarcodeDetector where it reads QR codes,
 * otherwise the vendored jsQR (static/vendor/jsQR.js, loaded only then).
 *
 * The card's QR code holds its login URL with `?card=<number>`; the number is read off its end
 * as the server does (villagers.cardnumbers.card_number_normalize). data-scan-then says what
 * follows: "submit" puts the number in the field and sends its form (the counter, the household
 * search), "append" adds it as a new line of the field (the activity's card numbers).
 * data-scan-read="link" reads an activity's check-in code instead (a link whose path holds
 * data-scan-path): the whole link goes in the field and its form is sent; the server checks it. */
(function () {
  "use strict";
  var media = navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== "function") return;

  var FRAME_GAP_MS = 150; // between two decoding attempts: light on a cheap phone
  var MAX_WIDTH = 640; // frames are decoded at most this wide (jsQR)

  /* Full-width digits (typed by a Chinese input method, or on a printed card) become ASCII. */
  function cardNumberOf(text) {
    var ascii = String(text || "").replace(/[\uFF10-\uFF19]/g, function (digit) {
      return String.fromCharCode(digit.charCodeAt(0) - 0xfee0);
    });
    var match = /([0-9]{9})\s*$/.exec(ascii);
    return match ? match[1] : null;
  }

  var decoderScript = null;
  function jsqrDecoder(url) {
    if (!decoderScript) {
      decoderScript = new Promise(function (resolve, reject) {
        if (typeof window.jsQR === "function") { resolve(); return; }
        var script = document.createElement("script");
        script.src = url;
        script.onload = function () { resolve(); };
        script.onerror = function () { decoderScript = null; reject(new Error("decoder")); };
        document.head.appendChild(script);
      });
    }
    return decoderScript.then(function () {
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function (video) {
        var scale = Math.min(1, MAX_WIDTH / video.videoWidth);
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(image.data, image.width, image.height);
        return Promise.resolve(code ? code.data : null);
      };
    });
  }

  /* The browser's own detector when it reads QR codes; otherwise jsQR. */
  function decoderFor(box) {
    var Detector = window.BarcodeDetector;
    var fallback = function () {
      box.setAttribute("data-scan-decoder", "jsqr");
      return jsqrDecoder(box.getAttribute("data-decoder"));
    };
    if (typeof Detector !== "function" || typeof Detector.getSupportedFormats !== "function") {
      return fallback();
    }
    return Detector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) return fallback();
      var detector = new Detector({ formats: ["qr_code"] });
      box.setAttribute("data-scan-decoder", "barcode-detector");
      return function (video) {
        return detector.detect(video).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      };
    }, fallback);
  }

  function setUp(box) {
    var field = document.querySelector(box.getAttribute("data-scan-for"));
    if (!field) return;
    var start = box.querySelector(".scan-start");
    var panel = box.querySelector(".scan-panel");
    var video = box.querySelector("video");
    var message = box.querySelector(".scan-message");
    var run = 0; // each start gets its own number: a late answer of a cancelled one is dropped
    var stream = null;

    function linkOf(text) {
      var value = String(text || "").trim();
      var path = box.getAttribute("data-scan-path") || "";
      return path && value.indexOf(path) >= 0 ? value : null;
    }

    function say(key, number) {
      message.textContent = (box.getAttribute("data-msg-" + key) || "").replace("{number}", number || "");
      message.classList.toggle("text-danger", ["opening", "aim", "read"].indexOf(key) < 0);
    }

    function stop() {
      run += 1;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
      panel.hidden = true;
      start.hidden = false;
      box.removeAttribute("data-scan-state");
    }

    function failed(error) {
      stop();
      var name = error && error.name;
      if (name === "NotAllowedError" || name === "SecurityError") say("denied");
      else if (name === "NotFoundError" || name === "OverconstrainedError") say("no-camera");
      else if (name === "NotReadableError" || name === "AbortError") say("busy");
      else say("failed");
      start.focus();
    }

    function read(number) {
      stop();
      say("read", number);
      if (box.getAttribute("data-scan-then") === "append") {
        var lines = field.value.split(/\r?\n/).map(function (line) { return line.trim(); });
        if (lines.indexOf(number) < 0) {
          field.value = lines.filter(Boolean).concat([number]).join("\n");
        }
        field.dispatchEvent(new Event("input", { bubbles: true }));
        start.focus();
        return;
      }
      field.value = number;
      if (field.form.requestSubmit) field.form.requestSubmit();
      else field.form.submit();
    }

    function scan(mine, decode) {
      if (mine !== run) return;
      var ready = video.readyState >= 2 && video.videoWidth > 0;
      (ready ? decode(video) : Promise.resolve(null)).then(function (text) {
        if (mine !== run) return;
        if (text) {
          var number = box.getAttribute("data-scan-read") === "link" ? linkOf(text) : cardNumberOf(text);
          if (number) { read(number); return; }
          say("not-card");
        }
        window.setTimeout(function () { scan(mine, decode); }, FRAME_GAP_MS);
      }, failed);
    }

    start.addEventListener("click", function () {
      stop();
      var mine = run;
      start.hidden = true;
      panel.hidden = false;
      box.setAttribute("data-scan-state", "opening");
      say("opening");
      var constraints = { audio: false, video: { facingMode: { ideal: "environment" } } };
      media.getUserMedia(constraints).then(function (got) {
        if (mine !== run) { got.getTracks().forEach(function (track) { track.stop(); }); return; }
        stream = got;
        video.srcObject = stream;
        var playing = video.play();
        if (playing && playing.catch) playing.catch(function () {}); // shown even if autoplay balks
        return decoderFor(box).then(function (decode) {
          if (mine !== run) return;
          box.setAttribute("data-scan-state", "scanning");
          say("aim");
          scan(mine, decode);
        });
      }).catch(function (error) {
        if (mine === run) failed(error);
      });
    });
    box.querySelector(".scan-cancel").addEventListener("click", function () {
      stop();
      message.textContent = "";
      start.focus();
    });
    window.addEventListener("pagehide", stop);
    box.hidden = false;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-scan-for]"), setUp);
})();
