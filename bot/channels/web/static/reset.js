// The counter tablet goes back to its waiting screen by itself (the thank-you screen after
// a few seconds, an unfinished answer after [web] kiosk_idle_seconds): the body says when
// and where. Without JavaScript a <noscript> meta refresh does the same.
"use strict";
(function () {
  var body = document.body;
  var after = Number(body.getAttribute("data-reset-after"));
  var to = body.getAttribute("data-reset-to");
  if (after > 0 && to && to.charAt(0) === "/") {
    window.setTimeout(function () { window.location.replace(to); }, after * 1000);
  }
})();
