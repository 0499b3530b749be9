// The print view of a dossier form: the "In" button prints the page; opened with
// ?print=1 (or posted with print=1) from the receipt page, it opens the print dialog.
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
  if (document.body && document.body.hasAttribute("data-autoprint")) {
    window.addEventListener("load", function () { window.print(); });
  }
})();
