// Web chat: send text, button presses and photos; long-poll for the bot's messages.
// The session is the server's (an HttpOnly cookie); "Kết thúc phiên" and, at a kiosk, an idle
// timer end it and wipe everything the page shows and holds. No inline script: CSP-friendly.
(function () {
  "use strict";
  var body = document.body;
  var kiosk = body.getAttribute("data-mode") === "kiosk";
  var idleSeconds = parseInt(body.getAttribute("data-idle") || "0", 10) || 0;
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var photo = document.getElementById("photo");
  var endButton = document.getElementById("end");
  var last = 0;
  var epoch = 0; // bumped on every reset: callbacks of an older session do nothing
  var controller = null;
  var idleTimer = null;
  var ending = false;

  function eventId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function bubble(cls) {
    var div = document.createElement("div");
    div.className = "msg " + cls;
    log.appendChild(div);
    return div;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function note(text, cls) {
    var p = document.createElement("p");
    p.className = cls || "note";
    p.textContent = text;
    log.appendChild(p);
    scroll();
  }

  function render(m) {
    var div = bubble("bot");
    if (m.kind === "text") {
      div.appendChild(document.createTextNode(m.text));
      if (m.buttons && m.buttons.length) {
        var box = document.createElement("div");
        box.className = "buttons";
        m.buttons.forEach(function (row) {
          var r = document.createElement("div");
          r.className = "row";
          row.forEach(function (b) {
            var el;
            if (b.url) {
              el = document.createElement("a");
              el.href = b.url; el.target = "_blank"; el.rel = "noopener";
            } else {
              el = document.createElement("button");
              el.type = "button";
              el.addEventListener("click", function () { mine(b.label); send({ button: b.data }); });
            }
            el.textContent = b.label;
            r.appendChild(el);
          });
          box.appendChild(r);
        });
        div.appendChild(box);
      }
    } else if (m.kind === "image") {
      var img = document.createElement("img");
      img.src = m.file; img.alt = m.caption || "";
      div.appendChild(img);
      if (m.caption) div.appendChild(document.createTextNode(m.caption));
    } else {
      var a = document.createElement("a");
      a.href = m.file; a.textContent = "📄 " + m.filename;
      div.appendChild(a);
      if (m.caption) div.appendChild(document.createTextNode("\n" + m.caption));
    }
    scroll();
  }

  function mine(text) { bubble("me").textContent = text; scroll(); }

  function call(path, options) {
    options.credentials = "same-origin";
    options.signal = controller.signal;
    return fetch(path, options).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var e = new Error(data.error || "http " + r.status);
          e.shown = !!data.error;
          e.status = r.status;
          e.retryAfter = parseInt(r.headers.get("Retry-After") || "0", 10) || 0;
          throw e;
        }
        return data;
      });
    });
  }

  function failed(my, text) {
    return function (e) {
      if (my !== epoch || (e && e.name === "AbortError")) return;
      note(e && e.shown ? e.message : text, e && e.shown ? "error" : "note");
    };
  }

  function afterSend(my) {
    return function (data) {
      if (my === epoch && data.fresh && last > 0) restart("Phiên trước đã hết hạn. Đã bắt đầu phiên mới.");
    };
  }

  function send(body) {
    var my = epoch;
    body.event_id = eventId();
    return call("/chat/api/send", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(afterSend(my)).catch(failed(my, "Mất kết nối, vui lòng gửi lại."));
  }

  // A busy server (503) kept nothing of the photo: send it again by itself, with the same
  // event id (a send that did get through is handled once), backing off up to 30 s.
  function sendPhoto(file) {
    var my = epoch;
    var data = new FormData();
    data.append("event_id", eventId());
    data.append("photo", file, file.name || "photo.jpg");
    mine("📷 " + (file.name || "ảnh"));
    var attempt = 0;
    var noted = false;
    function attemptSend() {
      return call("/chat/api/send", { method: "POST", body: data }).then(afterSend(my)).catch(function (e) {
        if (my !== epoch || (e && e.name === "AbortError")) return;
        if (e && e.status === 503 && attempt < 12) {
          attempt += 1;
          if (!noted) { note(e.shown ? e.message : "Hệ thống đang bận, đang gửi lại ảnh…"); noted = true; }
          var wait = Math.min(Math.max(e.retryAfter, 1) * Math.pow(2, attempt - 1), 30);
          setTimeout(function () { if (my === epoch) attemptSend(); }, (wait * (0.5 + Math.random())) * 1000);
          return;
        }
        failed(my, "Gửi ảnh không được, vui lòng thử lại.")(e);
      });
    }
    return attemptSend();
  }

  function poll(my) {
    if (my !== epoch) return;
    call("/chat/api/poll?after=" + last, { method: "GET" })
      .then(function (data) {
        if (my !== epoch) return;
        if (data.fresh && last > 0) { restart("Phiên trước đã hết hạn. Đã bắt đầu phiên mới."); return; }
        if (data.last < last) { last = 0; }
        data.messages.forEach(function (m) { if (m.seq > last) { render(m); last = m.seq; } });
        poll(my);
      })
      .catch(function (e) {
        if (my !== epoch || (e && e.name === "AbortError")) return;
        if (e && e.shown) note(e.message, "error");
        setTimeout(function () { poll(my); }, e && e.shown ? 15000 : 3000);
      });
  }

  // Forget everything shown and held: messages, typed text, storage, pending requests.
  function wipe() {
    epoch += 1;
    if (controller) controller.abort();
    controller = new AbortController();
    log.replaceChildren();
    input.value = "";
    photo.value = "";
    last = 0;
    try { sessionStorage.clear(); } catch (e) { /* storage disabled */ }
  }

  function restart(text) {
    wipe();
    if (text) note(text);
    poll(epoch);
  }

  function open() {
    var my = epoch;
    call("/chat/api/session" + (kiosk ? "?kiosk=1" : ""), { method: "POST" })
      .then(function () {
        poll(my);
        setTimeout(function () { if (my === epoch && last === 0) send({ text: "/start" }); }, 600);
      })
      .catch(function (e) {
        if (my !== epoch || (e && e.name === "AbortError")) return;
        note(e && e.shown ? e.message : "Mất kết nối, đang thử lại…", e && e.shown ? "error" : "note");
        setTimeout(function () { if (my === epoch) open(); }, 15000);
      });
  }

  function endSession() {
    if (ending) return;
    ending = true;
    wipe();
    var done = function () { window.location.replace(window.location.pathname + window.location.search); };
    fetch("/chat/api/end", { method: "POST", credentials: "same-origin" }).then(done, done);
  }

  function activity() {
    if (!kiosk || !idleSeconds) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(endSession, idleSeconds * 1000);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    mine(text);
    send({ text: text });
  });
  photo.addEventListener("change", function () {
    if (photo.files.length) sendPhoto(photo.files[0]);
    photo.value = "";
  });
  endButton.addEventListener("click", function () {
    if (kiosk || window.confirm("Kết thúc phiên và xóa cuộc trò chuyện trên trang này?")) endSession();
  });
  ["keydown", "pointerdown", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });

  controller = new AbortController();
  activity();
  open();
})();
