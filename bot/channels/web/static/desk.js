// The desk's form saves its draft as the person types. After a pause in typing (or when a
// field is left), the items edited since the last save are posted to the form's
// data-autosave address with the page's CSRF token, and the JSON answer says when it was
// saved and which fields were refused: each message is shown beside its field, as the
// server's own page shows it, and the "Tôi chắc chắn" box appears when a figure moved by
// more than half. Only the edited items are sent, so a page left open never undoes what
// was answered in the chat since. The texts come from the server (JSON, data-offline):
// this file has no words of its own. Without JavaScript, "Lưu nháp" does the same job.
"use strict";
(function () {
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch) { return; }
  var target = form.getAttribute("data-autosave");
  var offline = form.getAttribute("data-offline") || "";
  var status = document.getElementById("trang-thai-luu");
  var PAUSE_MS = 1200;
  var edited = {};      // item code -> true, edited since the last save was sent
  var errors = {};      // item code -> message, as last answered
  var timer = null;
  var sending = false;
  var again = false;

  var on = document.querySelector(".autosave-on");
  if (on) { on.hidden = false; }

  function itemOf(element) {
    var item = element.closest ? element.closest(".item[data-code]") : null;
    return item ? item.getAttribute("data-code") : null;
  }

  function body(codes) {
    var data = new URLSearchParams();
    ["csrf", "dot", "don-vi"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) { data.append(name, field.value); }
    });
    data.append("sua", codes.join(","));
    codes.forEach(function (code) {
      var item = document.getElementById("chi-tieu-" + code);
      if (!item) { return; }
      item.querySelectorAll("input[name]").forEach(function (input) {
        if (input.type === "checkbox") {
          if (input.checked) { data.append(input.name, input.value); }
        } else {
          data.append(input.name, input.value);
        }
      });
    });
    return data;
  }

  function say(text) { if (status) { status.textContent = text; } }

  function showError(code) {
    var item = document.getElementById("chi-tieu-" + code);
    if (!item) { return; }
    var message = errors[code];
    var focused = item.contains(document.activeElement);
    var shown = document.getElementById("loi-" + code);
    var inputs = item.querySelectorAll(".inputs input");
    if (!message || focused) {  // no message while the person is still typing in it
      if (!message && shown) { shown.remove(); }
      if (!message) {
        item.classList.remove("has-error");
        inputs.forEach(function (i) {
          i.removeAttribute("aria-invalid"); i.removeAttribute("aria-describedby");
        });
      }
      return;
    }
    if (!shown) {
      shown = document.createElement("p");
      shown.className = "error";
      shown.id = "loi-" + code;
      shown.setAttribute("role", "alert");
      item.insertBefore(shown, item.querySelector(".inputs"));
    }
    shown.textContent = message;
    item.classList.add("has-error");
    inputs.forEach(function (i) {
      i.setAttribute("aria-invalid", "true"); i.setAttribute("aria-describedby", "loi-" + code);
    });
  }

  function askSure(code, label) {
    var item = document.getElementById("chi-tieu-" + code);
    if (!item || document.getElementById("f-" + code + "-sure")) { return; }
    var wrap = document.createElement("div");
    wrap.className = "sure";
    var box = document.createElement("input");
    box.type = "checkbox"; box.id = "f-" + code + "-sure"; box.name = code + "-sure"; box.value = "1";
    var text = document.createElement("label");
    text.htmlFor = box.id; text.textContent = label;
    wrap.appendChild(box); wrap.appendChild(text);
    item.appendChild(wrap);
  }

  function answered(codes, reply) {
    // an item edited again while this save was on its way waits for the next answer
    var settled = codes.filter(function (code) { return !edited[code]; });
    settled.forEach(function (code) { delete errors[code]; });
    settled.forEach(function (code) {
      if (reply.errors && reply.errors[code]) { errors[code] = reply.errors[code]; }
    });
    settled.forEach(showError);
    (reply.confirm || []).forEach(function (code) {
      if (settled.indexOf(code) >= 0) { askSure(code, reply.sure || ""); }
    });
    say(reply.status || "");
  }

  function send() {
    timer = null;
    var codes = Object.keys(edited);
    if (!codes.length) { return; }
    if (sending) { again = true; return; }
    edited = {};
    sending = true;
    fetch(target, {
      method: "POST", body: body(codes), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (reply) {
        if (!response.ok) { codes.forEach(function (c) { edited[c] = true; }); }
        answered(response.ok ? codes : [], reply);
      });
    }).catch(function () {
      codes.forEach(function (c) { edited[c] = true; });
      say(offline);
    }).then(function () {
      sending = false;
      if (again) { again = false; schedule(0); }
    });
  }

  function schedule(delay) {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = window.setTimeout(send, delay);
  }

  function touched(event) {
    var code = itemOf(event.target);
    if (!code || !event.target.name) { return; }
    edited[code] = true;
    delete errors[code];  // the message shown stays until the next answer, none is added
    schedule(event.type === "change" ? 0 : PAUSE_MS);
  }

  form.addEventListener("input", touched);
  form.addEventListener("change", touched);
  form.addEventListener("focusout", function (event) {
    var code = itemOf(event.target);
    if (code && errors[code]) { window.setTimeout(function () { showError(code); }, 0); }
  });
  form.addEventListener("submit", function () {  // the whole form goes: nothing left to send
    if (timer !== null) { window.clearTimeout(timer); timer = null; }
    edited = {};
  });
  window.addEventListener("pagehide", function () {
    var codes = Object.keys(edited);
    if (codes.length && navigator.sendBeacon) { navigator.sendBeacon(target, body(codes)); }
  });
})();
