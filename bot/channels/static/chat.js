// Web chat: send text, button presses and photos; long-poll for the bot's messages.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var photo = document.getElementById("photo");
  var last = 0;

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

  function note(text) {
    var p = document.createElement("p");
    p.className = "note";
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

  function send(body) {
    body.event_id = eventId();
    return fetch("/chat/api/send", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).catch(function () { note("Mất kết nối, vui lòng gửi lại."); });
  }

  function sendPhoto(file) {
    var data = new FormData();
    data.append("event_id", eventId());
    data.append("photo", file, file.name || "photo.jpg");
    mine("📷 " + (file.name || "ảnh"));
    return fetch("/chat/api/send", { method: "POST", credentials: "same-origin", body: data })
      .catch(function () { note("Gửi ảnh không được, vui lòng thử lại."); });
  }

  function poll() {
    fetch("/chat/api/poll?after=" + last, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.last < last) { last = 0; }
        data.messages.forEach(function (m) { if (m.seq > last) { render(m); last = m.seq; } });
        poll();
      })
      .catch(function () { setTimeout(poll, 3000); });
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

  poll();
  setTimeout(function () { if (last === 0) send({ text: "/start" }); }, 600);
})();
