// Threads: inline reply forms and "N more replies" loaded in place.
// Progressive enhancement only: without this file "Reply" opens the reply
// page and "N more replies" opens the folded replies as a page.
(function () {
  "use strict";

  var formCounter = 0;

  function closestComment(node) {
    return node.closest ? node.closest("li.comment") : null;
  }

  function openReplyForm(link) {
    var item = closestComment(link);
    var template = document.getElementById("reply-form-template");
    if (!item || !template) {
      return false;
    }
    var existing = item.querySelector(":scope > .reply-form");
    if (existing) {
      existing.querySelector("textarea").focus();
      return true;
    }
    var fragment = template.content.cloneNode(true);
    var form = fragment.querySelector("form");
    var label = form.querySelector("label");
    var textarea = form.querySelector("textarea");
    formCounter += 1;
    var id = "reply-body-" + link.getAttribute("data-comment-id") + "-" + formCounter;
    form.setAttribute("action", link.getAttribute("href"));
    textarea.id = id;
    label.setAttribute("for", id);
    label.textContent = "Your reply to " + (link.getAttribute("data-author") || "this comment");
    form.querySelector(".cancel-reply").addEventListener("click", function () {
      form.remove();
      link.focus();
    });
    item.appendChild(form);
    textarea.focus();
    return true;
  }

  function loadReplies(link) {
    var url = link.getAttribute("data-fragment-url");
    var item = link.closest("li.comment-fold");
    if (!url || !item) {
      return false;
    }
    link.setAttribute("aria-busy", "true");
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var first = holder.content.querySelector("li");
        item.replaceWith(holder.content);
        if (first) {
          var focusable = first.querySelector("a, button");
          if (focusable) {
            focusable.focus();
          }
        }
      })
      .catch(function () {
        // Fall back to the plain page of replies.
        window.location.href = link.getAttribute("href");
      });
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    if (!link || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    if (link.classList.contains("reply-link") && openReplyForm(link)) {
      event.preventDefault();
    } else if (link.classList.contains("load-replies") && loadReplies(link)) {
      event.preventDefault();
    }
  });
})();
