/* A form sent on a bad link or from a page left open.
 *
 * A double tap sends a form once: a POST form sent natively is not sent again for a few
 * seconds, nor until the page is left, unless Back brings it again (a second tap's answer
 * can read as a failure: a PIN changed twice signs the household out). Forms a script sends
 * itself (htmx, photo-upload.js) cancel the submit event and are left to it.
 *
 * What was typed is not lost when nothing was saved: a form sent after the sign-in ended
 * (the login) or refused by the CSRF check answers with a page marked [data-sent-lost]
 * (templates/_sent_lost.html). What a form held is kept in this tab when it is sent
 * (sessionStorage; never PINs, passwords, hidden fields, files, nor a field marked
 * autocomplete="off": ID numbers and phones, villagers.forms.SensitiveFieldsMixin); a marked
 * answer keeps it for the form's page, which puts it back once, drawn afresh with a new
 * one-time key; any other answer forgets it. It comes back only for the person who typed
 * it (the body's data-typed-for, core/templatetags/one_time_key.py), and signing out forgets
 * it, so the next one signing in on this tab (an office PC) never gets it. No inline code
 * (CSP). */
(function () {
  "use strict";
  var AGAIN_AFTER_MS = 10000; // then a tap is a retry (a link that dropped), not a repeat
  var SENT = "aidao.sent"; // the last form sent from this tab
  var LOST = "aidao.lost"; // a form whose sending saved nothing, for its page
  var LOST_KEPT_MS = 3600000; // time enough to find the card and sign in again
  var NOT_KEPT = ["hidden", "password", "file", "submit", "button", "reset", "image"];

  function store() {
    try {
      return window.sessionStorage; // null where the browser refuses it
    } catch (error) {
      return null;
    }
  }

  function read(storage, key) {
    try {
      return JSON.parse(storage.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function typed(form) {
    var fields = [];
    var files = false;
    Array.prototype.forEach.call(form.elements, function (field) {
      var type = (field.type || "").toLowerCase();
      if (type === "file" && field.files && field.files.length) {
        files = true;
      }
      if (!field.name || field.disabled || NOT_KEPT.indexOf(type) !== -1
          || field.getAttribute("autocomplete") === "off") {
        return;
      }
      if (type === "checkbox" || type === "radio") {
        fields.push([field.name, field.value, field.checked]);
      } else if (type === "select-multiple") {
        Array.prototype.forEach.call(field.options, function (option) {
          fields.push([field.name, option.value, option.selected]);
        });
      } else {
        fields.push([field.name, field.value]);
      }
    });
    return { fields: fields, files: files };
  }

  function typedFor() {
    return document.body.getAttribute("data-typed-for") || "";
  }

  function keep(form) {
    var storage = store();
    if (!storage) return;
    if (form.hasAttribute("data-sign-out")) {
      storage.removeItem(SENT);
      storage.removeItem(LOST);
      return;
    }
    var held = typed(form);
    try {
      storage.setItem(SENT, JSON.stringify({
        typedFor: typedFor(),
        page: window.location.pathname + window.location.search,
        action: form.action,
        fields: held.fields,
        files: held.files
      }));
    } catch (error) { /* full or refused: nothing is kept */ }
  }

  /* One kept value into its field of the form drawn afresh; true when that changed it. */
  function putOne(field, entry) {
    var type = (field.type || "").toLowerCase();
    if (type === "checkbox" || type === "radio") {
      if (field.value !== entry[1] || field.checked === entry[2]) return false;
      field.checked = entry[2];
      return true;
    }
    if (type === "select-one" || type === "select-multiple") {
      var wanted = type === "select-one" ? true : entry[2];
      var option = Array.prototype.filter.call(field.options, function (candidate) {
        return candidate.value === entry[1];
      })[0];
      if (!option || option.selected === wanted) return false;
      option.selected = wanted;
      return true;
    }
    if (NOT_KEPT.indexOf(type) !== -1 || entry[1] === "" || field.value !== "") return false;
    field.value = entry[1];
    return true;
  }

  function putBack(form, lost) {
    var back = 0;
    lost.fields.forEach(function (entry) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name === entry[0] && putOne(field, entry)) back += 1;
      });
    });
    if (!back && !lost.files) return; // nothing typed came back (a PIN is never kept)
    var words = (back ? lost.textKept : "") + (lost.files ? " " + lost.textFile : "");
    var note = document.createElement("div");
    note.className = "alert alert-info";
    note.setAttribute("role", "status");
    note.setAttribute("data-put-back", "");
    note.textContent = words.replace(/^ /, "").replace(/([。！？]) /, "$1");
    form.parentNode.insertBefore(note, form);
  }

  function onPage() {
    var storage = store();
    if (!storage) return;
    var sent = read(storage, SENT);
    storage.removeItem(SENT);
    var marked = document.querySelector("[data-sent-lost]");
    if (marked && sent) {
      sent.at = Date.now();
      sent.textKept = marked.getAttribute("data-text-kept") || "";
      sent.textFile = marked.getAttribute("data-text-file") || "";
      try {
        storage.setItem(LOST, JSON.stringify(sent));
      } catch (error) { /* full or refused: nothing is kept */ }
      return;
    }
    var lost = read(storage, LOST);
    if (!lost || Date.now() - lost.at > LOST_KEPT_MS) {
      storage.removeItem(LOST);
      return;
    }
    // Signed out still (a PIN mistyped at the login): kept. Someone else signed in: gone.
    if (lost.typedFor && !typedFor()) return;
    if (lost.typedFor !== typedFor()) {
      storage.removeItem(LOST);
      return;
    }
    if (lost.page !== window.location.pathname + window.location.search) return;
    storage.removeItem(LOST);
    var form = Array.prototype.filter.call(document.forms, function (candidate) {
      return candidate.action === lost.action;
    })[0];
    if (form) putBack(form, lost);
  }

  // Kept before the form's own scripts run (capture): photo-upload.js sends its form itself.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "").toLowerCase() === "post") keep(form);
  }, true);

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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onPage);
  } else {
    onPage();
  }
})();
