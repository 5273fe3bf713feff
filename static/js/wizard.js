/* The import wizard (templates/imports/wizard.html) with JavaScript: From and To only for a custom
   range, a filter box over the project and member lists, the entry table as one tab stop that arrow
   keys move through, and focus on the new step after every swap. Without it every step still works. */
(function () {
  "use strict";

  // From and To count only with "Custom range": shown with it, hidden (and ignored by the server) otherwise.
  function showRange(root) {
    var fields = root.matches && root.matches("[data-date-range]") ? [root] : root.querySelectorAll("[data-date-range]");
    Array.prototype.forEach.call(fields, function (field) {
      var preset = field.querySelector("select");
      var custom = field.querySelector("[data-custom-range]");
      if (preset && custom) { custom.hidden = preset.value !== "custom"; }
    });
  }

  // A filter box over each checkbox list: typing keeps the items whose text contains what was typed.
  function filterList(box) {
    var list = box.closest(".pick-list");
    var words = box.value.trim().toLowerCase();
    var shown = 0;
    list.querySelectorAll(".pick-items li").forEach(function (item) {
      var match = !words || item.textContent.toLowerCase().indexOf(words) >= 0;
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    list.querySelector("[data-pick-none]").hidden = shown > 0;
  }

  // The entry table is one tab stop: Tab reaches the current box, arrow keys (Home, End, Page Up and
  // Down) move between boxes, Space ticks. Rows a "load more" appends join without a stop of their own.
  function boxesOf(grid) { return Array.prototype.slice.call(grid.querySelectorAll('input[type="checkbox"]')); }

  function rove(grid) {
    var boxes = boxesOf(grid);
    var current = boxes.filter(function (box) { return box.getAttribute("tabindex") === "0"; })[0] || boxes[0];
    boxes.forEach(function (box) { if (box !== current && box.getAttribute("tabindex") !== "-1") { box.tabIndex = -1; } });
    if (current) { current.tabIndex = 0; }
  }

  function moveTo(grid, box) {
    boxesOf(grid).forEach(function (each) { each.tabIndex = each === box ? 0 : -1; });
    box.focus();
  }

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    var grid = box.closest && box.closest("[data-entry-grid]");
    if (!grid || box.type !== "checkbox") { return; }
    var boxes = boxesOf(grid);
    var at = boxes.indexOf(box);
    var to = { ArrowDown: at + 1, ArrowRight: at + 1, ArrowUp: at - 1, ArrowLeft: at - 1, Home: 0,
               End: boxes.length - 1, PageDown: at + 10, PageUp: at - 10 }[event.key];
    if (to === undefined) { return; }
    event.preventDefault();
    moveTo(grid, boxes[Math.max(0, Math.min(boxes.length - 1, to))]);
  });

  document.addEventListener("focusin", function (event) {
    var grid = event.target.closest && event.target.closest("[data-entry-grid]");
    if (grid && event.target.type === "checkbox" && event.target.tabIndex !== 0) { moveTo(grid, event.target); }
  });

  function wire(root) {
    showRange(root);
    root.querySelectorAll("[data-pick-filter]").forEach(function (box) { box.hidden = false; });
    root.querySelectorAll("[data-entry-grid]").forEach(rove);
    var grid = root.closest && root.closest("[data-entry-grid]");
    if (!grid) { return; }
    // Rows a "load more" appended: no stop of their own (once per row, so 1,000 rows stay quick).
    if (!grid.querySelector('input[tabindex="0"]')) { rove(grid); return; }
    root.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      if (!box.hasAttribute("tabindex")) { box.tabIndex = -1; }
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("[data-date-range]")) { showRange(event.target.closest("[data-date-range]")); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-pick-filter")) { filterList(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:load", function (event) { wire(event.detail.elt); });

  // Focus after a swap: on the control that was used if the new step still has it (choosing a client
  // keeps focus on Client), else the new step's heading; the lines' heading once the lines are added or
  // the wizard is closed; the planned lines' heading when they are shown.
  function focusLines() {
    var heading = document.querySelector("#lines h2");
    if (!heading) { return; }
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || (target.id !== "import-wizard" && target.id !== "import-plan")) { return; }
    if (target.id === "import-plan") {
      var planned = document.querySelector("#import-plan [data-plan-focus]");
      if (planned) { planned.focus(); }
      return;
    }
    var wizard = document.getElementById("import-wizard");
    if (!wizard) { return; }
    if (wizard.dataset.step === "done") { focusLines(); return; }
    var used = event.detail.requestConfig && event.detail.requestConfig.elt;
    var again = used && used.id && wizard.querySelector("#" + CSS.escape(used.id));
    var heading = wizard.querySelector("[data-wizard-focus]");
    (again || heading).focus();
  });

  // "Close" in the invoice page puts the wizard away in place (a link to the invoice without JavaScript).
  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-wizard-close]");
    var wizard = document.getElementById("import-wizard");
    if (!close || !wizard || !document.getElementById("lines")) { return; }
    event.preventDefault();
    var empty = document.createElement("div");
    empty.id = "import-wizard";
    wizard.replaceWith(empty);
    focusLines();
  });
})();
