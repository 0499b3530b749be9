// The desk's procedure picker: typing part of a procedure's name (with or without
// Vietnamese accents) or of its code narrows the list below as one types. Without
// script the same box is sent with the "Tìm" button and the server narrows the list.
(function () {
  "use strict";
  function fold(text) {  // as engine/domain/textmatch.py folds: no accents, đ -> d, lower case
    return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase().replace(/[^0-9a-z]+/g, " ").trim();
  }
  document.querySelectorAll("input[data-filters]").forEach(function (box) {
    var select = document.getElementById(box.getAttribute("data-filters"));
    if (!select) { return; }
    function narrow() {
      var wanted = fold(box.value), shown = [];
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) { return; }
        var match = !wanted || (option.getAttribute("data-search") || "").indexOf(wanted) !== -1;
        option.hidden = !match;
        option.disabled = !match;
        if (match) { shown.push(option); }
      });
      if (shown.length === 1) { select.value = shown[0].value; }
      else if (select.selectedOptions.length && select.selectedOptions[0].hidden) { select.value = ""; }
      select.setAttribute("data-shown", String(shown.length));
    }
    box.addEventListener("input", narrow);
    box.addEventListener("keydown", function (event) {  // Enter picks, it does not send the form
      if (event.key === "Enter") { event.preventDefault(); narrow(); select.focus(); }
    });
  });
})();
