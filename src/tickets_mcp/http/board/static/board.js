// tickets-mcp board: drag and drop, keyboard moves and live updates. Plain script, no build step.
// Every page works without it; it only adds to what the server rendered.
"use strict";

(function () {
  const POLL_MS = 3000;
  let busy = false; // a move is on its way: the board must not be redrawn under it
  let generation = 0; // bumped by each move: a poll asked for before it brings the old state
  let dragged = null;

  function notice(text, alert) {
    const line = document.getElementById("notice");
    if (!line) return;
    line.textContent = text || "";
    line.classList.toggle("alert", Boolean(alert));
  }

  // Live updates: fetch the region's URL with its ETag; the server answers 304 while nothing changed.
  async function refresh(force) {
    const region = document.getElementById("live");
    if (!region || busy || dragged) return;
    const active = document.activeElement;
    if (!force && active && region.contains(active) && /^(SELECT|INPUT|TEXTAREA)$/.test(active.tagName)) return;
    const asked = generation;
    const headers = { Accept: "text/html-fragment" };
    if (!force && region.dataset.etag) headers["If-None-Match"] = region.dataset.etag;
    let response;
    try {
      response = await fetch(region.dataset.live, { headers, cache: "no-store", credentials: "same-origin" });
    } catch (error) {
      return; // the server is restarting or the network is down: try again on the next tick
    }
    if (response.status === 304) return;
    if (response.status === 401) {
      const here = window.location.pathname + window.location.search; // a milestone's board comes back to it
      window.location.assign("/board/login?next=" + encodeURIComponent(here));
      return;
    }
    if (!response.ok) return;
    const html = await response.text();
    if (busy || dragged || asked !== generation) return;
    const focusedId = active && region.contains(active) ? active.id : null;
    region.innerHTML = html; // our own server's rendering, in which every user-written text is escaped
    region.dataset.etag = response.headers.get("ETag") || "";
    if (focusedId) {
      const again = document.getElementById(focusedId);
      if (again) again.focus();
    }
  }

  function startPolling() {
    if (!document.getElementById("live")) return;
    setInterval(function () {
      if (!document.hidden) refresh(false);
    }, POLL_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) refresh(false);
    });
  }

  // Moves
  function columnOf(card) {
    return card.closest(".cards");
  }

  function cardsIn(list) {
    return Array.from(list.querySelectorAll(":scope > .card"));
  }

  async function move(card, list, before, after) {
    const slug = card.dataset.slug;
    busy = true;
    generation += 1;
    let response;
    try {
      response = await fetch("/board/tickets/" + encodeURIComponent(slug) + "/move", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({
          status: list.dataset.status,
          version: Number(card.dataset.version),
          before: before ? before.dataset.slug : null,
          after: after ? after.dataset.slug : null,
        }),
      });
    } catch (error) {
      response = null;
    }
    busy = false;
    if (response && response.ok) {
      const moved = await response.json();
      card.dataset.version = String(moved.version);
      notice("Moved " + slug + ".", false);
    } else if (response && response.status === 409) {
      const refusal = await response.json();
      notice(refusal.message + " Your move was not made; the board shows the current state.", true);
    } else if (response) {
      const refusal = await response.json().catch(function () { return { message: response.statusText }; });
      notice(refusal.message, true);
    } else {
      notice("The server did not answer; the move may not have been made.", true);
    }
    card.focus();
    await refresh(true);
  }

  // Place `card` in `list` before `reference` (null: last) and ask the server to do the same. `toEnd`:
  // last in the whole column, which may hold more cards than it shows, so no neighbour is named.
  function placeAndMove(card, list, reference, toEnd) {
    if (reference === card) return;
    list.insertBefore(card, reference);
    const cards = cardsIn(list);
    const at = cards.indexOf(card);
    const next = cards[at + 1] || null;
    if (toEnd) move(card, list, null, null);
    else move(card, list, next, next ? null : cards[at - 1] || null);
  }

  function moveByKey(card, key) {
    const list = columnOf(card);
    const lists = Array.from(document.querySelectorAll(".columns .cards"));
    const at = lists.indexOf(list);
    const cards = cardsIn(list);
    const position = cards.indexOf(card);
    if (key === "ArrowLeft" || key === "ArrowRight") {
      const target = lists[at + (key === "ArrowLeft" ? -1 : 1)];
      if (target) placeAndMove(card, target, null, true);
    } else if (key === "ArrowUp" && position > 0) {
      placeAndMove(card, list, cards[position - 1]);
    } else if (key === "ArrowDown" && position < cards.length - 1) {
      placeAndMove(card, list, cards[position + 2] || null);
    } else {
      return false;
    }
    return true;
  }

  function writable() {
    const columns = document.querySelector(".columns");
    return Boolean(columns && columns.dataset.writable === "true");
  }

  document.addEventListener("keydown", function (event) {
    const card = event.target.closest && event.target.closest(".card");
    if (!card || event.target !== card || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Enter") {
      window.location.assign(card.querySelector("a.slug").href); // open the ticket
      return;
    }
    if (writable() && !busy && moveByKey(card, event.key)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("button[data-move]");
    if (!button || busy) return;
    const card = button.closest(".card");
    moveByKey(card, button.dataset.move === "left" ? "ArrowLeft" : "ArrowRight");
  });

  // Drag and drop: the card follows the pointer through the lists; dropping sends the move.
  function cardAfterPointer(list, y) {
    return cardsIn(list).find(function (card) {
      if (card === dragged) return false;
      const box = card.getBoundingClientRect();
      return y < box.top + box.height / 2;
    }) || null;
  }

  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".card[draggable='true']");
    if (!card) return;
    dragged = card;
    dragged.dataset.from = columnOf(card).dataset.status;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.slug);
  });

  document.addEventListener("dragover", function (event) {
    const list = dragged && event.target.closest && event.target.closest(".cards");
    if (!list) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".cards.drop").forEach(function (l) { if (l !== list) l.classList.remove("drop"); });
    list.classList.add("drop");
  });

  document.addEventListener("drop", function (event) {
    const list = dragged && event.target.closest && event.target.closest(".cards");
    if (!list) return;
    event.preventDefault();
    const card = dragged;
    const reference = cardAfterPointer(list, event.clientY);
    finishDrag();
    placeAndMove(card, list, reference);
  });

  function finishDrag() {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".cards.drop").forEach(function (l) { l.classList.remove("drop"); });
    dragged = null;
  }

  document.addEventListener("dragend", finishDrag);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startPolling);
  } else {
    startPolling();
  }
})();
