"""The browser view's page: the live stream, a status line, buttons, keys, fullscreen, and reconnecting.

The page's keys and the hint it shows come from one table (:data:`PAGE_KEYS`), so they cannot disagree.
The stream is an ``<img>`` on ``/stream.mjpg``; the page polls ``/status`` once a second for the status
line. When a poll fails (server restarting, network gone) the line says "reconnecting" and, once a poll
succeeds again or the server is a new one (its ``server`` id changed), the stream is opened again.
"""

from __future__ import annotations

import html
import json

from edgecolor.stream.controls import ACTIONS

# (keys as KeyboardEvent.key, action, what the hint says). "fullscreen" is the page's own action.
PAGE_KEYS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("n", "]", "ArrowRight"), "next", "next style"),
    (("p", "[", "ArrowLeft"), "prev", "previous"),
    (("s",), "split", "split"),
    (("t",), "stabilize", "stabilise on/off"),
    (("f",), "fullscreen", "fullscreen"),
    (("q", "Escape"), "quit", "quit (asks first)"),
)
_KEY_NAMES = {"ArrowRight": "\u2192", "ArrowLeft": "\u2190", "Escape": "Esc"}
POLL_MS = 1000

# The first image is a plain JPEG so the page's load event fires (a browser never finishes loading an
# MJPEG stream); the stream replaces it right after.
_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgecolor</title>
<style>html,body{margin:0;background:#111;color:#ddd;font:14px sans-serif;text-align:center}
img{max-width:100vw;max-height:88vh;display:block;margin:0 auto}button{margin:4px}
#status{font-family:monospace;margin:4px}#status.lost{color:#f93}</style></head>
<body><img id="view" src="/frame.jpg" alt="live output">
<div id="status">connecting</div>
<div>%BUTTONS%<button id="fullscreen" title="Esc leaves fullscreen">fullscreen</button>
<span id="keys"> keys: %HINT%</span></div>
<script>
"use strict";
const keys = %KEYS%, poll_ms = %POLL_MS%;
const view = document.getElementById("view"), line = document.getElementById("status");
const token = new URLSearchParams(location.search).get("token") || "";
let connected = true, server = null, last = null, streams = 0;

function openStream() { streams++; view.src = "/stream.mjpg?n=" + streams; }
window.addEventListener("load", openStream, {once: true});
view.addEventListener("error", () => { if (streams) lost(); });
function lost() { connected = false; show(); }

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen().catch(() => {});
}
document.getElementById("fullscreen").addEventListener("click", toggleFullscreen);

function act(action) {
  if (action === "fullscreen") return toggleFullscreen();
  if (action === "quit" && !confirm("Quit edgecolor? The stream stops for every viewer.")) return;
  fetch("/control/" + action, {method: "POST", headers: {"X-Edgecolor-Token": token}})
    .then((r) => r.ok ? r.json() : null).then((c) => { if (c && last) { last.controls = c; show(); } })
    .catch(lost);
}
document.querySelectorAll("button[data-action]")
  .forEach((b) => b.addEventListener("click", () => act(b.dataset.action)));
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey || !keys[e.key]) return;
  if (e.key === "Escape" && document.fullscreenElement) return;  // the browser leaves fullscreen
  e.preventDefault();
  act(keys[e.key]);
});

function show() {
  const parts = [];
  if (last && last.controls) {
    const c = last.controls;
    parts.push(c.style, "split " + (c.split ? "on" : "off"), "stabilise " + (c.stabilize ? "on" : "off"));
  }
  const fps = last && (last.recent_frames_per_s ?? last.frames_per_s);
  if (fps != null) parts.push(fps.toFixed(1) + " fps");
  parts.push(connected ? "connected" : "reconnecting\u2026");
  line.textContent = parts.join(" \u00b7 ");
  line.className = connected ? "" : "lost";
}

async function poll() {
  try {
    const r = await fetch("/status", {cache: "no-store"});
    if (!r.ok) throw new Error("status " + r.status);
    const s = await r.json();
    const restarted = server !== null && s.server !== server;
    if (!connected || restarted) openStream();
    connected = true; server = s.server; last = s;
  } catch (e) {
    connected = false;
  }
  show();
  setTimeout(poll, poll_ms);
}
poll();
</script></body></html>
"""


def key_hint() -> str:
    return ", ".join("/".join(_KEY_NAMES.get(k, k) for k in ks) + " " + what for ks, _, what in PAGE_KEYS)


def render_page() -> str:
    buttons = "".join(f'<button data-action="{html.escape(a)}">{html.escape(a)}</button>' for a in ACTIONS)
    keymap = {k: action for ks, action, _ in PAGE_KEYS for k in ks}
    return (
        _PAGE.replace("%BUTTONS%", buttons)
        .replace("%HINT%", html.escape(key_hint()))
        .replace("%KEYS%", json.dumps(keymap))
        .replace("%POLL_MS%", str(POLL_MS))
    )
