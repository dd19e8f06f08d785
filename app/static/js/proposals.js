// Co-signing without a reload. The form works as a plain POST without this
// file; with it, the same POST goes through fetch (with the form's CSRF
// token), asks for JSON, and the count, threshold meter and button follow.
(function () {
  "use strict";

  function plural(n) {
    return n === 1 ? "supporter" : "supporters";
  }

  function update(box, form, data) {
    var count = box.querySelector("[data-supporter-count]");
    var noun = box.querySelector("[data-supporter-noun]");
    var meter = box.querySelector("[data-threshold-meter]");
    var meterText = box.querySelector("[data-threshold-text]");
    var button = form.querySelector("[data-cosign-button]");
    if (typeof data.supporter_count === "number") {
      count.textContent = String(data.supporter_count);
      noun.textContent = plural(data.supporter_count);
      var threshold = parseInt(box.getAttribute("data-threshold"), 10);
      if (meter && threshold) {
        meter.value = Math.min(data.supporter_count, threshold);
        meter.textContent = data.supporter_count + " of " + threshold;
        if (meterText) {
          meterText.textContent = data.supporter_count >= threshold
            ? "threshold of " + threshold + " reached"
            : (threshold - data.supporter_count) + " more needed to reach " + threshold;
        }
      }
    }
    if (data.signed && data.can_uncosign) {
      form.action = data.uncosign_url;
      button.textContent = "Remove my co-signature";
      button.className = "danger";
      form.hidden = false;
    } else if (!data.signed && data.can_cosign) {
      form.action = data.cosign_url;
      button.textContent = "Co-sign this proposal";
      button.className = "primary";
      form.hidden = false;
    } else {
      form.hidden = true;
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-cosign-form]")) {
      return;
    }
    var box = form.closest("[data-cosign-box]");
    var status = box && box.querySelector("[data-cosign-status]");
    if (!box || !window.fetch || !window.FormData) {
      return; // the plain form POST does the job
    }
    event.preventDefault();
    var button = form.querySelector("[data-cosign-button]");
    var token = form.querySelector("input[name=csrf_token]");
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "X-CSRFToken": token ? token.value : ""
      }
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          // Signed out, or something unexpected: let the browser handle it.
          form.submit();
          return null;
        }
        return response.json();
      })
      .then(function (data) {
        if (!data) {
          return;
        }
        if (data.supporter_count !== undefined) {
          update(box, form, data);
        }
        status.textContent = data.message || "";
      })
      .catch(function () {
        status.textContent = "That did not go through. Please try again.";
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
