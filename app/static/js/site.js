// Plenary's progressive enhancements. Every action works without this file;
// it only saves reloads. Loaded with `defer` from base.html (no inline
// script anywhere, so the Content-Security-Policy can forbid it).
(function () {
  "use strict";

  // Buttons with data-confirm ask before their form is sent.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
