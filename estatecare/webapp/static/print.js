// The reply letter's Print button (scripts come only from this site: no inline handler).
"use strict";
const printButton = document.getElementById("print-letter");
if (printButton) {
  printButton.addEventListener("click", () => window.print());
}
