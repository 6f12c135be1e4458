// Small, CSP-safe behaviour for the dashboard. No inline scripts: everything is wired here.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for plain-http hosts: copy through a temporary, off-screen text area.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  // Event delegation, so buttons that htmx swaps in later work too.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var feedback = button.parentElement.querySelector(".copy-feedback");
    if (!target) { return; }
    // Form fields (a read-only API key) copy their value; links their address; the rest, text.
    var text = target.matches("input, textarea") ? target.value
      : (target.getAttribute("href") || target.textContent.trim());
    // The button's own words come back afterwards ("Copy link", "Copy key", ...).
    if (!button.hasAttribute("data-copy-label")) { button.setAttribute("data-copy-label", button.textContent); }
    var label = button.getAttribute("data-copy-label");
    copyText(text).then(function () {
      if (feedback) { feedback.textContent = "Copied"; }
      button.textContent = "Copied!";
      window.setTimeout(function () { button.textContent = label; if (feedback) { feedback.textContent = ""; } }, 2500);
    }, function () {
      if (feedback) { feedback.textContent = "Press Ctrl+C to copy"; }
    });
  });

  // Filters: picking a date means "custom dates"; empty fields stay out of the URL.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("form.filters input[type=date]")) {
      var range = input.form && input.form.querySelector("select[name=range]");
      if (range) { range.value = "custom"; }
    }
    if (input.matches && input.matches("#filters select[name=range]")) { showDateFields(); }
  }, true);

  // The date fields show once "Dates…" is chosen in the Created choice (or dates are set): until
  // then the keyboard passes one control, not two date fields (Chromium stops on each of a date
  // field's day, month and year). Without JavaScript both fields are always there.
  function showDateFields() {
    var range = document.querySelector("#filters select[name=range]");
    if (!range || !range.querySelector("option[value=custom]")) { return; }
    var dates = document.querySelectorAll("#filters input[type=date]");
    var used = Array.prototype.some.call(dates, function (input) {
      return input.value || input.getAttribute("aria-invalid") === "true";
    });
    dates.forEach(function (input) {
      (input.closest("label") || input).hidden = !(range.value === "custom" || used);
    });
  }

  // Irreversible actions (dashboard/web/confirm.py): the button is a link to a confirm page;
  // with JavaScript it opens the same words in the <dialog> beside it instead.
  function openConfirmDialog(id, opener) {
    var dialog = document.getElementById(id);
    if (!dialog || typeof dialog.showModal !== "function") { return false; }
    dialog.confirmOpener = opener;
    dialog.showModal();
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-confirm]");
    if (link && openConfirmDialog(link.getAttribute("data-confirm"), link)) {
      event.preventDefault();
      return;
    }
    var close = event.target.closest("[data-dialog-close]");
    if (close) { close.closest("dialog").close(); }
  });

  // A choice first (the new Owner): the chosen option names the dialog to open.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-confirm-choice]")) { return; }
    var select = form.elements[form.getAttribute("data-confirm-choice")];
    var option = select && select.options[select.selectedIndex];
    if (option && openConfirmDialog(option.getAttribute("data-confirm"), form.querySelector("[type=submit]"))) {
      event.preventDefault();
    }
  });

  // Closing puts focus back on the button that opened it (showModal's own return is unreliable
  // once htmx has swapped the page).
  document.addEventListener("close", function (event) {
    var opener = event.target.confirmOpener;
    if (opener && document.contains(opener)) { opener.focus(); }
  }, true);

  // Do not poll a page while a dialog on it is open: the swap would close the dialog under the
  // merchant's hand.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.querySelector("dialog[open]")) { event.preventDefault(); }
  });

  // New payment link: the currency's symbol beside the amount (the code without JavaScript),
  // and a live count under a field with a limit. Nothing cuts what is typed: over the limit
  // the count says so, and the server refuses it saying why.
  function showCurrencySymbol(select) {
    document.querySelectorAll("[data-currency-symbol-of='" + select.id + "']").forEach(function (symbol) {
      var option = select.options[select.selectedIndex];
      symbol.textContent = (option && option.getAttribute("data-symbol")) || select.value;
    });
  }

  function showCount(input) {
    document.querySelectorAll("[data-count-of='" + input.id + "']").forEach(function (count) {
      var max = parseInt(count.getAttribute("data-count-max"), 10);
      var length = input.value.length;
      count.textContent = length + " / " + max + (length > max ? " (" + (length - max) + " too many)" : "");
      count.classList.toggle("over", length > max);
    });
  }

  function wireForms(root) {
    root.querySelectorAll("[data-currency-symbol-of]").forEach(function (symbol) {
      var select = document.getElementById(symbol.getAttribute("data-currency-symbol-of"));
      if (select) { showCurrencySymbol(select); }
    });
    root.querySelectorAll("[data-count-of]").forEach(function (count) {
      var input = document.getElementById(count.getAttribute("data-count-of"));
      if (input) { showCount(input); }
    });
  }

  // Sign-in links tell the server the browser's time zone: a first sign-in starts the new
  // account in it (Settings can change it later). Without JavaScript the default zone is used.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-sign-in]");
    if (!link || !window.Intl) { return; }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) { return; }
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("tz", zone);
    link.href = url.toString();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select")) { showCurrencySymbol(event.target); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.id) { showCount(event.target); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { wireForms(document); showDateFields(); });
  } else {
    wireForms(document);
    showDateFields();
  }

  // The filter form stays on the page while the results swap (what is typed is never lost), so
  // the fields learn from the new results which of them the server refused.
  document.addEventListener("htmx:afterSwap", function () {
    var form = document.getElementById("filters");
    if (!form) { return; }
    var errors = document.querySelector("[data-invalid-fields]");
    var invalid = errors ? errors.getAttribute("data-invalid-fields").split(" ") : [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "hidden") { return; }
      if (invalid.indexOf(field.name) >= 0) { field.setAttribute("aria-invalid", "true"); }
      else { field.removeAttribute("aria-invalid"); }
    });
    showDateFields();
  });

  // htmx puts focus back on a swapped element that has an id; a tile or a tab has none, so it is
  // found again by its place among the links of the same kind, and focus stays on the control used.
  var focusBeforeSwap = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    focusBeforeSwap = null;
    if (!active || active === document.body || active.id || !event.detail.target.contains(active)) { return; }
    var kind = active.closest("nav");
    if (!kind || !kind.parentElement) { return; }
    var selector = active.tagName.toLowerCase() + (active.classList[0] ? "." + active.classList[0] : "");
    var peers = Array.prototype.slice.call(kind.querySelectorAll(selector));
    focusBeforeSwap = { selector: selector, kind: kind.tagName.toLowerCase() + (kind.className ? "." + kind.className.split(" ")[0] : ""), index: peers.indexOf(active) };
  });
  document.addEventListener("htmx:afterSettle", function () {
    var memory = focusBeforeSwap;
    focusBeforeSwap = null;
    if (!memory || (document.activeElement && document.activeElement !== document.body)) { return; }
    var kind = document.querySelector(memory.kind);
    var peer = kind && kind.querySelectorAll(memory.selector)[memory.index];
    if (peer) { peer.focus(); }
  });

  // A page that polls sends all its parts; only the parts whose content changed are swapped, so
  // a focused button is never replaced and the live status region speaks once per change.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target.hasAttribute("data-poll-part")) { return; }
    var fresh = document.createElement("div");
    fresh.appendChild(event.detail.fragment.cloneNode(true));
    var first = fresh.firstElementChild;
    var html = first && first.id === target.id ? first.innerHTML : fresh.innerHTML;
    if (html === target.innerHTML) { event.detail.shouldSwap = false; return; }
    // A part that changed under the focused control (Copy link, once the payment is paid, is
    // gone): focus moves to the part's new heading, not to <body> and the top of the page.
    if (target.contains(document.activeElement)) { refocusPart(target.id, document.activeElement.id); }
  });

  function refocusPart(id, focusedId) {
    // The swap runs to its end before this does.
    window.setTimeout(function () {
      var active = document.activeElement;
      if (active && active !== document.body && document.contains(active)) { return; }
      var part = document.getElementById(id);
      if (!part) { return; }
      // The same control in the new content (it has an id) if it is still there, else the heading.
      var same = focusedId && document.getElementById(focusedId);
      var place = (same && part.contains(same) && same) || part.querySelector("h2, h3") || part;
      if (place !== same && !place.hasAttribute("tabindex")) { place.setAttribute("tabindex", "-1"); }
      place.focus();
    }, 0);
  }

  // Load more swaps the next rows in for its own row, which goes: focus moves to the link of the
  // first new row, and a polite status says how many came (the link's name is read on focus).
  var loadMore = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    loadMore = null;
    if (target.id !== "load-more" || !target.parentElement) { return; }
    loadMore = { body: target.parentElement, before: target.parentElement.children.length - 1 };
    loadMoreStatus();  // in the page before it speaks, so screen readers hear the change
  });
  document.addEventListener("htmx:afterSettle", function () {
    var memory = loadMore;
    loadMore = null;
    if (!memory || !document.contains(memory.body)) { return; }
    var rows = Array.prototype.filter.call(memory.body.children, function (row) { return row.id !== "load-more"; });
    var fresh = rows.slice(memory.before);
    if (!fresh.length) { return; }
    var place = fresh[0].querySelector("a[href], button") || fresh[0];
    if (place === fresh[0]) { place.setAttribute("tabindex", "-1"); }
    place.focus();
    var more = document.getElementById("load-more");
    loadMoreStatus().textContent = fresh.length + " more shown" + (more ? ", and more below." : ", the end of the list.");
  });

  function loadMoreStatus() {
    var status = document.getElementById("load-more-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "load-more-status";
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      document.getElementById("content").appendChild(status);
    }
    status.textContent = "";
    return status;
  }

  // A fold that stays open on a wide screen (the API docs' contents, a sticky column) and starts
  // closed on a phone, where it sits at the top of a long page. Choosing an entry folds it again
  // (so the way back finds it short); a link back to it opens it.
  var narrow = window.matchMedia("(max-width: 1023px)");
  function foldForScreen() {
    document.querySelectorAll("details[data-fold-narrow]").forEach(function (fold) { fold.open = !narrow.matches; });
  }
  foldForScreen();
  narrow.addEventListener("change", foldForScreen);
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='#']");
    if (!link) { return; }
    var fold = link.closest("details[data-fold-narrow]");
    if (fold && narrow.matches) { fold.open = false; return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    var inner = target && target.querySelector("details[data-fold-narrow]");
    if (inner) { inner.open = true; }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") { return; }
    var parameters = event.detail.parameters;
    var empty = [];
    if (typeof parameters.forEach === "function") {
      parameters.forEach(function (value, key) { if (value === "") { empty.push(key); } });
      empty.forEach(function (key) { parameters.delete(key); });
    } else {
      Object.keys(parameters).forEach(function (key) { if (parameters[key] === "") { delete parameters[key]; } });
    }
  });
})();
