// Labels every cell of a grid table with its column's header (data-label) and marks the tables of four
// columns or more ("cards"), so that on a phone the stylesheet shows each of their rows as a card of
// "label: value" lines. Runs on load and after htmx swaps.
(function () {
  function label(root) {
    root.querySelectorAll("table.grid").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      if (!heads.length) return;
      if (heads.length >= 4) table.classList.add("cards");
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (heads[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { label(document); });
  document.addEventListener("htmx:afterSwap", function (event) { label(event.target); });
})();
