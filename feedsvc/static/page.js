/* Enhances the server-rendered page; without this file it works the same, one submit at a time.
 *
 * - A tick of a filter (a type, a track, a day, a person) shows its events at once: the form is
 *   submitted, and the server lists them. Empty fields are left out of the URL.
 * - People: typing part of a name suggests people from /api/authors?q=; picking one adds them.
 * - Live feed links for "In my talks" ticks and the reminder: the form is sent to /api/feed, and
 *   the links shown are the server's own strings (feedsvc/links.py), so they cannot differ from
 *   the no-JavaScript page. Each event's download link follows the chosen reminder.
 * - A "Copy link" button for the feed URL.
 * - Every time also in the visitor's own time zone, which only the browser knows, on a 24-hour clock.
 */
"use strict";

document.documentElement.classList.add("js");

const form = document.getElementById("filters");

const VIEW_PARAMETERS = ["on", "page"];  // the page's own: which day, which part
const typedAuthor = document.getElementById("author");

/** The feed's choice: the form's non-empty fields, the schedule's checkboxes (form="filters")
 *  included, but for what only says how the page looks and what is half typed. */
function chosenParameters() {
  const parameters = new URLSearchParams();
  typedAuthor.disabled = true;
  for (const [name, value] of new FormData(form)) {
    if (value.trim() && !VIEW_PARAMETERS.includes(name)) parameters.append(name, value);
  }
  typedAuthor.disabled = false;
  return parameters;
}

/** A submitted form leaves its empty fields out of the URL: `/?type=oral`, not `/?type=oral&q=&alarm=`. */
form.addEventListener("formdata", (event) => {
  const filled = [...event.formData].filter(([, value]) => value.trim());
  for (const name of new Set([...event.formData.keys()])) event.formData.delete(name);
  for (const [name, value] of filled) event.formData.append(name, value);
});

function countText(count) {
  if (count === 0) return "No event matches: the filters combine with AND.";
  return count === 1 ? "1 event" : `${count} events`;
}

function showError(message) {
  document.getElementById("feed-error").textContent = message;
  document.getElementById("feed-error").hidden = false;
  document.getElementById("feed-links").hidden = true;
}

function showFeed(feed) {
  document.getElementById("feed-error").hidden = true;
  document.getElementById("feed-links").hidden = false;
  document.getElementById("feed-count").textContent = countText(feed.count);
  document.getElementById("feed-name").textContent = feed.name;
  document.getElementById("feed-url").value = feed.url;
  document.getElementById("copy-status").textContent = "";
  document.getElementById("subscribe-webcal").href = feed.webcal;
  document.getElementById("subscribe-google").href = feed.google;
  document.getElementById("subscribe-outlook").href = feed.outlook;
  document.getElementById("download-feed").href = feed.download;
  const ticked = new URLSearchParams(feed.query).getAll("event");  // "my talks" are marked, as the server does
  for (const event of document.querySelectorAll("[data-event-id]")) {
    const inFeed = ticked.includes(event.dataset.eventId) && feed.event_ids.includes(event.dataset.eventId);
    event.classList.toggle("in-feed", inFeed);
    event.querySelector(".in-feed-note").hidden = !inFeed;
  }
  withReminder(new URLSearchParams(feed.query).get("alarm"));
  const view = new URLSearchParams(location.search);
  const shown = new URLSearchParams(feed.query);
  for (const name of VIEW_PARAMETERS) if (view.has(name)) shown.set(name, view.get(name));
  history.replaceState(null, "", shown.size ? `?${shown}` : location.pathname);
}

/** Each event's own download carries the chosen reminder too, as the server renders it. */
function withReminder(alarm) {
  for (const link of document.querySelectorAll("a.event-download")) {
    const url = new URL(link.href);
    if (alarm === null) url.searchParams.delete("alarm");
    else url.searchParams.set("alarm", alarm);
    link.href = url.pathname + url.search;
  }
}

let pending = null;

async function updateFeed() {
  if (pending) pending.abort();
  pending = new AbortController();
  try {
    const response = await fetch(`${form.dataset.feedApi}?${chosenParameters()}`,
                                 { signal: pending.signal, headers: { Accept: "application/json" } });
    const body = await response.json();
    if (response.ok) showFeed(body);
    else showError(body.error.message);
  } catch (error) {
    if (error.name !== "AbortError") showError(`The feed links could not be updated (${error.message}).`);
  }
}

/** "In my talks" and the reminder change only the feed; any other tick changes the events listed. */
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.form !== form || field === typedAuthor || field.id === "q") return;
  if (field.name === "event" || field.name === "alarm") updateFeed();
  else form.submit();
});

/** Suggestions for the people field from /api/authors?q=, each a button that adds the person. */
function suggestPeople() {
  const list = document.getElementById("author-suggestions");
  let asking = null;
  let waiting = 0;

  async function suggest() {
    const typed = typedAuthor.value.trim();
    if (asking) asking.abort();
    if (!/[\p{L}\p{N}]/u.test(typed)) {
      list.hidden = true;
      return;
    }
    asking = new AbortController();
    try {
      const url = `${form.dataset.authorsApi}?${new URLSearchParams({ q: typed, limit: "8" })}`;
      const response = await fetch(url, { signal: asking.signal, headers: { Accept: "application/json" } });
      if (response.ok) show(await response.json());
    } catch (error) {
      if (error.name !== "AbortError") list.hidden = true;
    }
  }

  function show(found) {
    list.replaceChildren(...found.authors.map((person) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      const talks = person.events.length === 1 ? "1 event" : `${person.events.length} events`;
      button.append(person.name, " ", Object.assign(document.createElement("span"),
                                                    { className: "count", textContent: `(${talks})` }));
      button.addEventListener("click", () => pick(person));
      item.append(button);
      return item;
    }));
    if (!found.authors.length) {
      list.append(Object.assign(document.createElement("li"), { className: "hint", textContent: "Nobody by that name." }));
    } else if (found.count > found.authors.length) {
      list.append(Object.assign(document.createElement("li"), {
        className: "hint", textContent: `${found.count - found.authors.length} more: type more of the name.` }));
    }
    list.hidden = false;
  }

  function pick(person) {
    const chip = document.createElement("label");
    chip.className = "check chip";
    const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "author",
                                                                   value: person.id, checked: true });
    chip.append(box, ` ${person.name}`);
    typedAuthor.before(chip);
    typedAuthor.value = "";
    form.submit();
  }

  typedAuthor.addEventListener("input", () => {
    clearTimeout(waiting);
    waiting = setTimeout(suggest, 150);
  });
  typedAuthor.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && !list.hidden) {
      event.preventDefault();
      list.querySelector("button")?.focus();
    } else if (event.key === "Escape") {
      list.hidden = true;
    }
  });
}

function enableCopyButton() {
  const button = document.getElementById("copy-link");
  const status = document.getElementById("copy-status");
  const url = document.getElementById("feed-url");
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url.value);
      status.textContent = "Copied the feed URL.";
    } catch {
      url.select();
      status.textContent = "Press Ctrl+C (⌘C on a Mac) to copy the selected URL.";
    }
  });
}

function showLocalTimes() {
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
  const zone = (moment) => new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
    .formatToParts(moment).find((part) => part.type === "timeZoneName").value;
  for (const element of document.querySelectorAll("[data-local-start]")) {
    const start = new Date(element.dataset.localStart);
    const end = new Date(element.dataset.localEnd);
    const endDay = day.format(end) === day.format(start) ? "" : `${day.format(end)} `;
    const prefix = "withDay" in element.dataset || endDay ? `${day.format(start)}, ` : "";
    element.textContent = `${prefix}${clock.format(start)}–${endDay}${clock.format(end)} ${zone(start)}`;
    element.hidden = false;
  }
  const localZone = document.getElementById("local-zone");
  localZone.textContent = `, and in yours, ${Intl.DateTimeFormat().resolvedOptions().timeZone}`;
  localZone.hidden = false;
}

enableCopyButton();
suggestPeople();
showLocalTimes();
