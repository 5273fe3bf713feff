/* Hourbill's only script: glue for htmx. Every page works without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

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

  // The business switcher in the top bar: choosing a business submits its form (a button without JS).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.hasAttribute && select.hasAttribute("data-autosubmit") && select.form) { select.form.requestSubmit(); }
  });

  function say(text) {
    var box = document.getElementById("messages");
    if (!box) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    box.replaceChildren(p);
  }

  // The server's own words on its error page (e.g. what another tab did to the invoice), if any.
  function serverMessage(xhr) {
    var text = xhr.responseText || "";
    if (text.indexOf("error-page") < 0) { return null; }
    var found = new DOMParser().parseFromString(text, "text/html").querySelector(".error-page p");
    return found && found.textContent.trim();
  }

  // htmx does not swap error answers: say what happened instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var message = status === 409 && serverMessage(event.detail.xhr);
    say(message ? message
      : status === 409 ? "This invoice is no longer a draft: reload the page to see it as it is now."
      : status === 403 ? (serverMessage(event.detail.xhr) || "Your role in this business does not allow that.")
      : status === 404 ? "That item is gone (deleted in another tab?). Reload the page."
      : status === 400 ? "The page is out of date. Reload it and try again."
      : "Something went wrong and nothing was saved. Try again, or reload the page.");
  });
  // An autosave answers a field's errors out of band (templates/invoices/show.html): mark the field
  // invalid, or valid again, to match.
  document.addEventListener("htmx:load", function (event) {
    var slot = event.detail.elt;
    if (!slot.classList || !slot.classList.contains("field-errors")) { return; }
    var input = document.querySelector('[aria-describedby="' + slot.id + '"]');
    var invalid = slot.children.length > 0;
    if (input) {
      if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    }
    var field = slot.closest(".field, .line-row");
    if (field) { field.classList.toggle("has-error", invalid || field.querySelector(".field-errors .error") !== null); }
  });

  // The import preview: totals that follow the ticked entries, select all / none, and a selection
  // sent as the shorter list: the ticked ids, or "all matching" minus the unticked ones (so ticking
  // all of 10,000 entries never sends 10,000 ids).
  function previewForm(node) { return node && node.closest && node.closest("[data-import-selection]"); }

  // The pages whose rows are not shown, as their sums (#preview-parts, services.imports.PagePart): they
  // count as ticked while the rest is ("Select all"; data-rest-ticked), and not after "Select none".
  function parts(form) { return form.querySelectorAll("#preview-parts [data-part]"); }
  function partSum(form, key) {
    var sum = 0;
    parts(form).forEach(function (part) { sum += Number(part.dataset[key] || 0); });
    return sum;
  }
  function restTicked(form) { return form.dataset.restTicked !== "false"; }

  function updateTotals(form) {
    var totals = form.querySelector("[data-import-totals]");
    if (!totals) { return; }
    // Clockify's report amounts (data-clockify) are hundredths in every currency; a box without one
    // is an entry the report gave no amount.
    var count = 0, seconds = 0, amount = 0, reported = 0, missing = 0;
    if (restTicked(form)) {
      count = partSum(form, "count"); seconds = partSum(form, "seconds"); amount = partSum(form, "amount");
      reported = partSum(form, "clockify"); missing = partSum(form, "missing");
    }
    form.querySelectorAll('input[name="entry"]:checked, input[name="nonbillable"]:checked').forEach(function (box) {
      count += 1;
      seconds += Number(box.dataset.seconds);
      amount += Number(box.dataset.amount);
      if (box.dataset.clockify === undefined) { missing += 1; } else { reported += Number(box.dataset.clockify); }
    });
    var currency = totals.dataset.currency;
    var money = new Intl.NumberFormat(totals.dataset.locale || "en-US", { style: "currency", currency: currency });
    var digits = money.resolvedOptions().maximumFractionDigits;
    totals.querySelector("[data-selected-count]").textContent = count;
    totals.querySelector("[data-selected-hours]").textContent = (seconds / 3600).toFixed(2);
    totals.querySelector("[data-selected-amount]").textContent = money.format(amount / Math.pow(10, digits));
    var clockify = totals.querySelector("[data-clockify-amount]");
    if (clockify) {
      clockify.textContent = money.format(reported / 100);
      totals.querySelector("[data-clockify-missing]").textContent = missing;
      totals.querySelector("[data-clockify-missing-note]").hidden = missing === 0;
    }
  }

  // The counts of the lists apart ("never billed", "already on an invoice", non-billable) follow the
  // items a "load more" appended to them.
  function updateCounts(form) {
    form.querySelectorAll("[data-count-of]").forEach(function (count) {
      var list = document.getElementById(count.dataset.countOf);
      if (!list) { return; }
      var total = list.children.length + (count.dataset.partCount ? partSum(form, count.dataset.partCount) : 0);
      count.textContent = total;
      var box = count.closest("details");
      if (box && total) { box.hidden = false; }
    });
    // "Show the next entries" while pages are not shown, with how many rows are listed of how many.
    var more = form.querySelector("#show-more");
    if (!more) { return; }
    var listed = form.querySelectorAll('input[name="entry"]').length;
    more.hidden = parts(form).length === 0;
    more.querySelector("[data-rows-shown]").textContent = listed;
    more.querySelector("[data-rows-all]").textContent = listed + partSum(form, "count");
  }

  // The page "Show the next entries" asks for: the first one not shown; its rows come ticked as the
  // rest is.
  document.addEventListener("htmx:configRequest", function (event) {
    var button = event.detail.elt;
    var form = previewForm(button);
    if (!form || !button.hasAttribute("data-show-more")) { return; }
    var first = parts(form)[0];
    if (!first) { event.preventDefault(); return; }
    event.detail.parameters.show = first.dataset.part;
    event.detail.parameters.rest = restTicked(form) ? "ticked" : "unticked";
  });

  document.addEventListener("change", function (event) {
    var form = previewForm(event.target);
    if (form && (event.target.name === "entry" || event.target.name === "nonbillable")) { updateTotals(form); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-select]");
    var form = previewForm(button);
    if (!form) { return; }
    var on = button.dataset.select === "all";
    form.dataset.restTicked = on ? "true" : "false";
    form.querySelectorAll('input[name="entry"]').forEach(function (box) { box.checked = on; });
    updateTotals(form);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = previewForm(event.detail.target);
    if (form) { updateTotals(form); updateCounts(form); }
  });
  document.addEventListener("htmx:configRequest", function (event) {
    var form = previewForm(event.detail.elt);
    var params = event.detail.parameters;
    if (!form || !("selection" in params)) { return; }
    var ticked = [], unticked = [];
    form.querySelectorAll('input[name="entry"]').forEach(function (box) { (box.checked ? ticked : unticked).push(box.value); });
    // Entries not listed (still loading, or on pages not shown) are ticked or not as the rest is.
    var unlisted = form.querySelector("#loader[hx-post]") !== null || parts(form).length > 0;
    delete params.entry;
    if (unlisted ? restTicked(form) : unticked.length < ticked.length) {
      params.selection = "all";
      params.exclude = unticked;
    } else {
      params.selection = "some";
      params.entry = ticked;
    }
  });

  // Focus after an htmx swap: a swap that removes the focused control would drop focus to <body>, and a
  // keyboard or screen-reader user would start again from the top. It stays on the control that was
  // used when that is still there (found again by its form, name and value or label; a move button
  // now disabled hands over to its neighbour), else it goes to the new content's heading, else to its
  // first field. An element the answer marks autofocus (a new line's description) wins.
  var used = null;
  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    used = active && active !== document.body ? {
      id: active.id, form: active.form ? active.form.id : "", name: active.getAttribute("name"),
      value: active.getAttribute("value"), label: active.getAttribute("aria-label") || active.textContent.trim()
    } : null;
  });

  function findAgain(what) {
    if (!what) { return null; }
    if (what.id) { return document.getElementById(what.id); }
    var form = what.form && document.getElementById(what.form);
    if (!form) { return null; }
    var found = null;
    form.querySelectorAll("button, input, select, textarea, a").forEach(function (control) {
      if (found || control.getAttribute("name") !== what.name || control.getAttribute("value") !== what.value) { return; }
      if ((control.getAttribute("aria-label") || control.textContent.trim()) === what.label) { found = control; }
    });
    if (found && found.disabled) {
      found = Array.prototype.find.call(form.querySelectorAll('button[name="' + what.name + '"]'),
                                        function (other) { return !other.disabled; }) || null;
    }
    return found;
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) { return; }
    var target = event.detail.target;
    if (target && !target.isConnected && target.id) { target = document.getElementById(target.id); }  // outerHTML
    var next = findAgain(used);
    if (!next && target && target.isConnected) {
      next = target.querySelector("h1, h2, h3") || target.querySelector("input:not([type=hidden]), select, textarea, button");
      if (next && /^H[1-3]$/.test(next.tagName) && !next.hasAttribute("tabindex")) { next.setAttribute("tabindex", "-1"); }
    }
    if (next) { next.focus(); }
  });

  // Line descriptions grow with their text: CSS does it (field-sizing) where supported, this elsewhere.
  if (!(window.CSS && CSS.supports && CSS.supports("field-sizing", "content"))) {
    var grow = function (area) { area.style.height = "auto"; area.style.height = area.scrollHeight + 2 + "px"; };
    document.addEventListener("input", function (event) { if (event.target.matches && event.target.matches("textarea.grow")) { grow(event.target); } });
    document.addEventListener("htmx:load", function (event) { event.detail.elt.querySelectorAll && event.detail.elt.querySelectorAll("textarea.grow").forEach(grow); });
    document.addEventListener("DOMContentLoaded", function () { document.querySelectorAll("textarea.grow").forEach(grow); });
  }

  document.addEventListener("htmx:sendError", function () {
    say("Hourbill could not be reached. Check your connection and try again.");
  });
})();
