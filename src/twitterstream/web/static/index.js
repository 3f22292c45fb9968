// The search page: the field is ready to type in (with the bad character selected after an error),
// (each watched query's pace is rendered by the server).
(function () {
  "use strict";
  const field = document.getElementById("query");
  if (field) {
    const position = Number(field.dataset.errorPosition);
    field.focus({ preventScroll: true });
    if (position > 0 && position <= field.value.length + 1) {
      field.setSelectionRange(position - 1, Math.min(position, field.value.length));
    } else {
      field.setSelectionRange(field.value.length, field.value.length);
    }
    // Once the person edits the query, the old error no longer describes it.
    field.addEventListener("input", () => {
      if (field.getAttribute("aria-invalid") === "true") {
        field.removeAttribute("aria-invalid");
        const error = document.getElementById("query-error");
        if (error) error.classList.add("stale");
      }
    }, { once: true });
  }

})();
