/* Hourbill's only script: glue for htmx. Every page works without it. */
(function () {
  "use strict";

  // One place gives every htmx request the CSRF token (Flask-WTF reads X-CSRFToken).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
  });

  // A button that asks first (e.g. "Delete this draft?"): data-confirm on the submit button.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  function say(text) {
    var box = document.getElementById("messages");
    if (!box) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    box.replaceChildren(p);
  }

  // htmx does not swap error answers: say what happened instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    say(status === 409 ? "This invoice is no longer a draft: reload the page to see it as it is now."
      : status === 404 ? "That item is gone (deleted in another tab?). Reload the page."
      : status === 400 ? "The page is out of date. Reload it and try again."
      : "Something went wrong and nothing was saved. Try again, or reload the page.");
  });
  document.addEventListener("htmx:sendError", function () {
    say("Hourbill could not be reached. Check your connection and try again.");
  });
})();
