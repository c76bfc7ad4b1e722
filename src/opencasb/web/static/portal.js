// OpenCASB portal: progressive enhancement only; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Forms that destroy something ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // Office 365 dialog: Files needs Office 365 activities (the server checks it too).
  const files = document.querySelector("input[name=components][value=files]");
  const activities = document.querySelector("input[name=components][value=activities]");
  if (files && activities) {
    const sync = () => { if (files.checked) activities.checked = true; };
    files.addEventListener("change", sync);
    activities.addEventListener("change", () => { if (!activities.checked) files.checked = false; });
  }
  // Office 365 / Okta dialogs: show only the credential fields of the chosen kind.
  for (const select of document.querySelectorAll("select[data-switch]")) {
    const apply = () => {
      for (const el of document.querySelectorAll("[data-when]")) {
        el.hidden = el.dataset.when !== select.value;
      }
    };
    select.addEventListener("change", apply);
    apply();
  }
  // Keyboard: "/" focuses the search, Escape closes the drawer.
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing) {
      const search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); }
    }
    if (event.key === "Escape") {
      const close = document.querySelector("[data-close-drawer]");
      if (close) window.location.href = close.href;
    }
  });
});
