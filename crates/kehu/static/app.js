// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Confirm dangerous forms (data-confirm="question").
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var q = form.getAttribute && form.getAttribute("data-confirm");
    if (q && !window.confirm(q)) {
      ev.preventDefault();
    }
  });
  // Flash messages fade after a while.
  var flash = document.querySelector(".flash");
  if (flash) {
    setTimeout(function () { flash.classList.add("flash-hide"); }, 5000);
  }
  // Kanban: drag a deal card to another stage. The move goes through the API
  // (cookie session + CSRF header); the board is then re-read from the page.
  var board = document.getElementById("board");
  if (board) {
    var dragged = null;
    var errorBox = document.getElementById("board-error");
    var lostDialog = document.getElementById("lost-dialog");
    var showError = function (text) {
      if (!errorBox) { return; }
      errorBox.textContent = text;
      errorBox.hidden = !text;
    };
    var askReason = function () {
      return new Promise(function (resolve) {
        if (!lostDialog || !lostDialog.showModal) {
          resolve(window.prompt(board.dataset.msgLost) || "");
          return;
        }
        var input = document.getElementById("lost-reason");
        input.value = "";
        lostDialog.returnValue = "";
        lostDialog.addEventListener("close", function onClose() {
          lostDialog.removeEventListener("close", onClose);
          resolve(lostDialog.returnValue === "ok" ? input.value.trim() : "");
        });
        lostDialog.showModal();
        input.focus();
      });
    };
    var refresh = function () {
      return fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
          if (fresh) { board.innerHTML = fresh.innerHTML; }
        });
    };
    var move = function (card, stage, reason) {
      var body = { stage_id: stage, version: Number(card.dataset.version) };
      if (reason) { body.lost_reason = reason; }
      card.classList.add("moving");
      return fetch("/api/v1/opportunities/" + card.dataset.id + "/move", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": board.dataset.csrf },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) { showError(""); return refresh(); }
        return r.json().catch(function () { return {}; }).then(function (p) {
          var text = board.dataset.msgFailed;
          if (r.status === 409) { text = board.dataset.msgStale; }
          if (r.status === 422 && p.errors && p.errors.some(function (e) { return e.code === "required_by_stage"; })) {
            text = board.dataset.msgRequired + " (" + p.errors.map(function (e) { return e.field; }).join(", ") + ")";
          }
          showError(text);
          return refresh();
        });
      }).catch(function () {
        card.classList.remove("moving");
        showError(board.dataset.msgFailed);
        return refresh().catch(function () {});
      });
    };
    board.addEventListener("dragstart", function (ev) {
      var card = ev.target.closest && ev.target.closest(".deal-card");
      if (!card) { return; }
      dragged = card;
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData("text/plain", card.dataset.id);
      card.classList.add("dragging");
    });
    board.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      board.querySelectorAll(".drop-over").forEach(function (c) { c.classList.remove("drop-over"); });
    });
    board.addEventListener("dragover", function (ev) {
      var col = ev.target.closest && ev.target.closest(".board-col");
      if (col && dragged) {
        ev.preventDefault();
        board.querySelectorAll(".drop-over").forEach(function (c) { if (c !== col) { c.classList.remove("drop-over"); } });
        col.classList.add("drop-over");
      }
    });
    board.addEventListener("drop", function (ev) {
      var col = ev.target.closest && ev.target.closest(".board-col");
      if (!col || !dragged) { return; }
      ev.preventDefault();
      col.classList.remove("drop-over");
      var card = dragged;
      dragged = null;
      if (card.closest(".board-col") === col) { return; }
      var go = function (reason) {
        col.querySelector(".board-cards").prepend(card);
        return move(card, col.dataset.stage, reason);
      };
      if (col.dataset.kind === "lost") {
        askReason().then(function (reason) { if (reason) { go(reason); } });
      } else {
        go("");
      }
    });
  }
})();

// The printable quote's Print button.
document.addEventListener("click", (e) => {
  const b = e.target.closest("[data-print]");
  if (b) {
    e.preventDefault();
    window.print();
  }
});

// The line editor: picking another product clears the row's name and price,
// so they come from the new product.
document.addEventListener("change", (e) => {
  const s = e.target;
  if (!(s instanceof HTMLSelectElement) || !s.name.startsWith("product_id_")) return;
  const n = s.name.slice("product_id_".length);
  const form = s.form;
  if (!form) return;
  for (const f of ["name_", "unit_price_"]) {
    const input = form.elements.namedItem(f + n);
    if (input instanceof HTMLInputElement) input.value = "";
  }
});

// A page answered to a form (a webhook's secret, shown once) names its own
// address: reloading it then reads the page instead of sending the form again.
const canonical = document.querySelector("[data-replace-url]");
if (canonical) history.replaceState(null, "", canonical.dataset.replaceUrl);
