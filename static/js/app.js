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
    if (input.matches && input.matches("#filters input[type=date]")) {
      var range = document.querySelector("#filters select[name=range]");
      if (range) { range.value = "custom"; }
    }
  }, true);

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
