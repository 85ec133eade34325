// 12345 web chat: talks to POST ./webhook of the rasa server's webchat channel.
(function () {
  "use strict";
  var ENDPOINT = "webhook";
  var TEXTS = {
    typing: "正在输入…",
    network: "网络异常，消息未送达，请稍后再试。",
    locating: "正在获取位置…",
    noGeo: "无法获取位置，请直接输入地址。",
    myLocation: "📍 我的位置",
    welcome: "您好，这里是12345市民服务在线反映。请直接说说您遇到的问题，比如在哪里、发生了什么。"
  };
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var send = document.getElementById("send");
  var locate = document.getElementById("locate");
  var status = document.getElementById("status");

  function senderId() {
    var key = "petition-webchat-sender";
    var id = null;
    try { id = window.localStorage.getItem(key); } catch (e) { id = null; }
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.localStorage.setItem(key, id); } catch (e) { /* private mode: one conversation per page */ }
    }
    return id;
  }
  var sender = senderId();

  function scroll() { log.scrollTop = log.scrollHeight; }

  function bubble(who, text) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    if (text) { div.textContent = text; }
    log.appendChild(div);
    scroll();
    return div;
  }

  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function render(message) {
    var div = bubble("bot", message.text || "");
    var custom = message.custom;
    if (!message.text && custom && typeof custom.text === "string") { div.textContent = custom.text; }
    var img = safeUrl(message.image);
    if (img) {
      var el = document.createElement("img");
      el.src = img; el.alt = "图片";
      div.appendChild(el);
    }
    var link = safeUrl(message.attachment);
    if (link) {
      var a = document.createElement("a");
      a.href = link; a.textContent = "查看附件"; a.target = "_blank"; a.rel = "noopener noreferrer";
      div.appendChild(document.createElement("br"));
      div.appendChild(a);
    }
    var buttons = message.buttons || (custom && custom.buttons) || [];
    if (buttons.length) {
      var box = document.createElement("div");
      box.className = "choices";
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "choice";
        btn.textContent = b.title || b.payload;
        var url = safeUrl(b.url);
        btn.addEventListener("click", function () {
          if (url) { window.open(url, "_blank", "noopener"); return; }
          Array.prototype.forEach.call(box.querySelectorAll("button"), function (x) { x.disabled = true; });
          btn.classList.add("chosen");
          post({ message: b.payload || b.title }, b.title || b.payload);
        });
        box.appendChild(btn);
      });
      div.appendChild(box);
    }
    if (!div.childNodes.length) { div.remove(); }
    scroll();
  }

  function setBusy(busy) {
    send.disabled = busy;
    locate.disabled = busy;
  }

  function showStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  function post(body, shown) {
    if (shown) { bubble("user", shown); }
    body.sender = sender;
    setBusy(true);
    showStatus("");
    var typing = document.createElement("div");
    typing.className = "typing";
    typing.textContent = TEXTS.typing;
    log.appendChild(typing);
    scroll();
    return fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      typing.remove();
      if (!Array.isArray(res.data)) { throw new Error("bad answer"); }
      res.data.forEach(render);
      if (!res.ok) { showStatus(TEXTS.network); }
    }).catch(function () {
      typing.remove();
      showStatus(TEXTS.network);
    }).then(function () {
      setBusy(false);
      input.focus();
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || send.disabled) { return; }
    input.value = "";
    post({ message: text }, text);
  });

  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  locate.addEventListener("click", function () {
    if (!navigator.geolocation) { showStatus(TEXTS.noGeo); return; }
    showStatus(TEXTS.locating);
    navigator.geolocation.getCurrentPosition(function (pos) {
      showStatus("");
      post({ location: { latitude: pos.coords.latitude, longitude: pos.coords.longitude,
                         accuracy: pos.coords.accuracy } }, TEXTS.myLocation);
    }, function () { showStatus(TEXTS.noGeo); }, { timeout: 15000, maximumAge: 60000 });
  });

  bubble("bot", TEXTS.welcome);
  window.petitionWebchat = { sender: sender, post: post, render: render };
})();
