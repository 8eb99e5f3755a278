// The setup and login pages: the password goes to the board as JSON (never in a URL,
// never stored by the page); on success the board sets a session cookie and we go to
// the dashboard.
"use strict";
const form = document.querySelector("form[data-api]");
const result = document.getElementById("result");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const password = form.elements.password.value;
  if (form.elements.again && form.elements.again.value !== password) {
    result.textContent = "The two passwords differ.";
    return;
  }
  const r = await fetch(form.dataset.api, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ password }),
  });
  if (r.ok) { location.replace("/"); return; }
  const wait = r.headers.get("Retry-After");
  let why = r.statusText;
  try { why = (await r.json()).error; } catch (_) { /* not JSON: the status says it */ }
  result.textContent = wait ? "Too many tries: wait " + wait + " s." : why;
});
