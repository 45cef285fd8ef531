/* Photos that get through on 3G (core.photos.PhotoInput): before a form with a photo is sent,
 * the phone shrinks the photo (longest side data-photo-shrink px, JPEG, about
 * data-photo-target bytes), checks the size limit (data-photo-max-bytes) and sends the form
 * with a progress bar and a Cancel button. The server still checks and re-encodes every
 * photo. Without this script (or where the browser cannot read the photo) the form is sent
 * as it is and the server's limit applies. No framework, no inline code (CSP). */
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest || !window.HTMLCanvasElement) {
    return;
  }
  var QUALITIES = [0.82, 0.72, 0.6, 0.5];

  function sizeText(bytes) {
    return bytes >= 1048576
      ? (bytes / 1048576).toFixed(1) + " MB"
      : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function decode(file) {
    // createImageBitmap honours the photo's EXIF orientation in current browsers.
    if (window.createImageBitmap) {
      return window.createImageBitmap(file, { imageOrientation: "from-image" });
    }
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () { URL.revokeObjectURL(url); resolve(image); };
      image.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      image.src = url;
    });
  }

  function toJpeg(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }

  /* A HEIC photo (many phones save photos so): most Android browsers cannot read it, nor can
   * the server, so one the browser cannot read is refused here, before minutes of sending. */
  function isHeif(file) {
    return /^image\/hei[cf]/i.test(file.type || "") || /\.hei[cf]$/i.test(file.name || "");
  }

  /* The photo at most `edge` px on its longest side, as a JPEG near `target` bytes; the
   * original file where the browser cannot read it (the server then decides), or null for
   * a HEIC photo it cannot read. */
  function shrink(file, edge, target) {
    return decode(file).then(function (image) {
      var scale = Math.min(1, edge / Math.max(image.width, image.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      if (image.close) { image.close(); }
      var attempt = function (index) {
        return toJpeg(canvas, QUALITIES[index]).then(function (blob) {
          if (blob && blob.size > target && index + 1 < QUALITIES.length) {
            return attempt(index + 1);
          }
          return blob || file;
        });
      };
      return attempt(0);
    }, function () { return isHeif(file) ? null : file; });
  }

  function progressBox(form, input) {
    var box = document.createElement("div");
    box.className = "photo-progress mt-3";
    box.setAttribute("role", "status");
    var label = document.createElement("p");
    label.className = "mb-1";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.className = "w-100";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-outline-secondary mt-2";
    cancel.textContent = input.getAttribute("data-text-cancel");
    box.appendChild(label);
    box.appendChild(bar);
    box.appendChild(cancel);
    form.appendChild(box);
    bar.setAttribute("aria-label", input.getAttribute("data-text-sending"));
    return { box: box, label: label, bar: bar, cancel: cancel };
  }

  function showError(input, text) {
    var error = input.parentNode.querySelector(".photo-error");
    if (!error) {
      error = document.createElement("div");
      error.className = "photo-error invalid-feedback d-block";
      error.setAttribute("role", "alert");
      input.parentNode.appendChild(error);
    }
    error.textContent = text;
  }

  /* The answer replaces the page, as a normal form post would: the next page after a
   * redirect (with its message), or the form again with its errors. Only an HTML page: any
   * other answer (a proxy's plain-text refusal, say) is never written as HTML; false then. */
  function showAnswer(xhr) {
    if (!/^text\/html\b/i.test(xhr.getResponseHeader("Content-Type") || "")) {
      return false;
    }
    var url = xhr.responseURL || window.location.href;
    document.open();
    document.write(xhr.responseText);
    document.close();
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
    return true;
  }

  /* The form's fields and the button pressed, as the browser would send them. FormData's own
   * second argument (the button) is read only since Chrome 112: WeChat's browser (Chrome 107)
   * and older phones leave it out, and a form that reads the button (the proposal form's
   * "send"; its picker's buttons and Enter send nothing) would never be sent. */
  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name && !data.has(submitter.name)) {
      data.append(submitter.name, submitter.value);
    }
    return data;
  }

  function send(form, input, photo, submitter) {
    var data = formData(form, submitter);
    if (photo) {
      data.set(input.name, photo, photo.name || "photo.jpg");
    }
    var ui = progressBox(form, input);
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
    Array.prototype.forEach.call(buttons, function (button) { button.disabled = true; });
    var done = function (text) {
      Array.prototype.forEach.call(buttons, function (button) { button.disabled = false; });
      ui.box.remove();
      if (text) { showError(input, text); }
    };
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        ui.bar.value = Math.round((event.loaded / event.total) * 100);
        ui.label.textContent = input.getAttribute("data-text-sending") + " "
          + sizeText(event.loaded) + " / " + sizeText(event.total);
      }
    });
    xhr.addEventListener("load", function () {
      if (!showAnswer(xhr)) { done(input.getAttribute("data-text-failed")); }
    });
    xhr.addEventListener("error", function () { done(input.getAttribute("data-text-failed")); });
    xhr.addEventListener("abort", function () {
      done(input.getAttribute("data-text-cancelled"));
    });
    ui.cancel.addEventListener("click", function () { xhr.abort(); });
    ui.label.textContent = input.getAttribute("data-text-sending");
    xhr.send(data);
  }

  function onSubmit(event) {
    var form = event.target;
    var input = form.querySelector("input[type=file][data-photo-shrink]");
    if (!input || !input.files || !input.files.length) {
      return;
    }
    // A second tap while the photo is made smaller must not send the form as it is: the
    // original photo would go up beside the smaller one (a few MB on 3G, for one answer).
    event.preventDefault();
    if (form.dataset.photoSending) {
      return;
    }
    var file = input.files[0];
    var limit = parseInt(input.getAttribute("data-photo-max-bytes"), 10);
    // Where the submit event names no button (before Chrome 81 and Safari 15.4), the last one
    // pressed in the form (Enter presses the form's first one too).
    var submitter = event.submitter || form.photoPressed;
    form.dataset.photoSending = "1";
    var status = progressBox(form, input);
    status.cancel.hidden = true;
    status.bar.removeAttribute("value"); // indeterminate while the photo is made smaller
    status.label.textContent = input.getAttribute("data-text-preparing");
    var isImage = /^image\//.test(file.type || "image/") || isHeif(file);
    var prepared = isImage
      ? shrink(file,
          parseInt(input.getAttribute("data-photo-shrink"), 10),
          parseInt(input.getAttribute("data-photo-target"), 10))
      : Promise.resolve(file);
    prepared.then(function (photo) {
      status.box.remove();
      delete form.dataset.photoSending;
      if (photo === null) {
        showError(input, input.getAttribute("data-text-heic"));
        return;
      }
      if (photo.size > limit) {
        showError(input, input.getAttribute("data-text-too-large").replace(
          "%(size)s", sizeText(photo.size)));
        return;
      }
      if (photo !== file) {
        photo = new File([photo], "photo.jpg", { type: "image/jpeg" });
      }
      send(form, input, photo, submitter);
    });
  }

  Array.prototype.forEach.call(
    document.querySelectorAll("input[type=file][data-photo-shrink]"),
    function (input) {
      if (!input.form) { return; }
      input.form.addEventListener("click", function (event) {
        var button = event.target.closest && event.target.closest("button, input[type=submit]");
        if (button && button.type === "submit") { input.form.photoPressed = button; }
      });
      input.form.addEventListener("submit", onSubmit);
    }
  );
})();
