/* Enhances the server-rendered page; without this file it works the same, one submit at a time.
 *
 * - Live feed links: on every change the form is sent to /api/feed, and the links shown are the
 *   server's own strings (feedsvc/links.py), so they cannot differ from the no-JavaScript page.
 *   Each event's download link follows the chosen reminder.
 * - A "Copy link" button for the feed URL.
 * - Every time also in the visitor's own time zone, which only the browser knows.
 */
"use strict";

document.documentElement.classList.add("js");

const form = document.getElementById("filters");

/** The form's non-empty fields, including the schedule's checkboxes (form="filters"). */
function chosenParameters() {
  const parameters = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value.trim()) parameters.append(name, value);
  }
  return parameters;
}

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
  document.getElementById("feed-count").textContent = countText(feed.event_ids.length);
  document.getElementById("feed-name").textContent = feed.name;
  document.getElementById("feed-url").value = feed.url;
  document.getElementById("copy-status").textContent = "";
  document.getElementById("subscribe-webcal").href = feed.webcal;
  document.getElementById("subscribe-google").href = feed.google;
  document.getElementById("subscribe-outlook").href = feed.outlook;
  document.getElementById("download-feed").href = feed.download;
  const events = document.querySelectorAll("[data-event-id]");
  const narrowed = feed.event_ids.length < events.length;  // as the server decides it
  for (const event of events) {
    const inFeed = narrowed && feed.event_ids.includes(event.dataset.eventId);
    event.classList.toggle("in-feed", inFeed);
    event.querySelector(".in-feed-note").hidden = !inFeed;
  }
  withReminder(new URLSearchParams(feed.query).get("alarm"));
  history.replaceState(null, "", feed.query ? `?${feed.query}` : location.pathname);
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

document.addEventListener("change", (event) => {
  if (event.target.form === form) updateFeed();
});

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
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
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
showLocalTimes();
