// Similar proposals while a member types a new proposal's title. Without this
// file the "Preview" button shows the same list on a page of its own; with
// it, the list follows the title as it is typed (a GET for JSON, built with
// textContent only). Nothing is blocked: the form submits as before.
(function () {
  "use strict";

  var DELAY_MS = 300;
  var MIN_LENGTH = 3;

  function plural(n) {
    return n + (n === 1 ? " supporter" : " supporters");
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function render(box, proposals) {
    var list = box.querySelector("[data-similar-list]");
    var intro = box.querySelector("[data-similar-intro]");
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    if (!proposals.length) {
      box.hidden = true;
      return;
    }
    intro.textContent = "If one of these says what you mean, co-sign it instead: it gathers " +
      "support in one place. You may still submit yours.";
    proposals.forEach(function (p) {
      var item = document.createElement("li");
      item.appendChild(link(p.url, "Proposal " + p.number + ": " + p.title));
      var count = document.createElement("span");
      count.className = "muted";
      count.textContent = " · " + plural(p.supporter_count) + " · ";
      item.appendChild(count);
      item.appendChild(link(p.url, "Read and co-sign"));
      list.appendChild(item);
    });
    box.hidden = false;
  }

  function init() {
    var form = document.querySelector("form[data-similar-url]");
    var box = document.querySelector("[data-similar]");
    if (!form || !box || !window.fetch) {
      return;
    }
    var input = form.querySelector("input[name='title']");
    if (!input) {
      return;
    }
    var timer = null;
    var asked = "";
    var latest = 0;

    function ask() {
      var title = input.value.trim();
      if (title === asked) {
        return;
      }
      asked = title;
      if (title.length < MIN_LENGTH) {
        render(box, []);
        return;
      }
      var ticket = ++latest;
      var url = form.getAttribute("data-similar-url") + "?title=" + encodeURIComponent(title);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : { proposals: [] };
        })
        .then(function (data) {
          // An older answer arriving late must not replace a newer one.
          if (ticket === latest) {
            render(box, data.proposals || []);
          }
        })
        .catch(function () {});
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
    if (input.value) {
      ask();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
