/* H5 signing page [H5签署]: identity → read → clauses → changes → intent → handwriting → done.
 * Plain ES2017, no build step. Talks to /h5/api/links/<id>/... with the link's session cookie. */
(function () {
  "use strict";

  var app = document.getElementById("app");
  var linkId = app.getAttribute("data-link");
  var base = "/h5/api/links/" + encodeURIComponent(linkId);
  var MIN_CLAUSE_SECONDS = 3;
  var ORDER = ["identity", "read", "clauses", "changes", "intent", "sign", "done"];
  var METHOD_NAMES = { two_factor: "身份证二要素", three_factor: "手机号三要素", face: "人脸识别" };
  var ENVELOPE_STATUS = {
    draft: "草稿", sent: "待签署", signing: "签署中", completed: "已完成（全部签署）",
    rejected: "已拒签", expired: "已过期", voided: "已作废"
  };
  var ERRORS = {
    H5_SESSION_REQUIRED: "会话已失效，请重新打开短信或微信中的签署链接。",
    LINK_EXPIRED: "签署链接已过期，请联系业务人员重新发送。",
    LINK_REVOKED: "签署链接已失效（已重新发送或签署已结束）。",
    LINK_NOT_FOUND: "签署链接不存在。",
    ENVELOPE_NOT_FOUND: "签署文件不存在。",
    ENVELOPE_EXPIRED: "签署已超过截止时间。",
    ENVELOPE_STATE_INVALID: "该文件当前状态不可签署。",
    SIGNER_NOT_READY: "还未轮到您签署，请等待前序签署人完成。",
    SIGNER_ALREADY_SIGNED: "您已签署过该文件，无需重复签署。",
    SIGNER_BUSY: "签名正在处理中，请稍候。",
    IDENTITY_MISMATCH: "身份核验未通过，请确认本人信息后重试或联系业务人员。",
    IDENTITY_CHECK_REQUIRED: "请先完成身份核验。",
    CLAUSES_NOT_ACKNOWLEDGED: "请先逐条阅读并确认免责条款。",
    INTENT_WRONG_ANSWER: "验证码或密码错误。",
    INTENT_EXPIRED: "验证码已过期，请重新获取。",
    INTENT_LOCKED: "错误次数过多，请重新获取验证码。",
    INTENT_ALREADY_USED: "该验证已使用，请重新获取。",
    INTENT_NOT_FOUND: "请先完成意愿确认。",
    INTENT_RATE_LIMITED: "获取过于频繁，请稍后再试。",
    INTENT_METHOD_UNAVAILABLE: "该意愿确认方式不可用（如未设置签署密码），请联系业务人员。",
    INTENT_DOCUMENT_MISMATCH: "文件已变化，请重新确认签署意愿。",
    SIGNATURE_BLANK: "签名为空或过于简单，请在签名区域内完整签写姓名。",
    SIGNATURE_TOO_LARGE: "签名数据过大，请清除后重新签写。",
    SIGNATURE_INVALID: "签名数据有误，请清除后重新签写。",
    BODY_TOO_LARGE: "签名数据过大，请清除后重新签写。",
    MATERIALS_MISSING: "还需上传材料，请联系业务人员。"
  };

  var state = null;
  var flowStep = "identity";
  var intent = null; // {id, method, confirmed}
  var clauseQueue = [];
  var clauseShownAt = 0;
  var clauseVisibleMs = 0;
  var clauseTimer = null;

  function $(id) { return document.getElementById(id); }

  function say(text, info) {
    var box = $("message");
    box.textContent = text || "";
    box.className = info ? "message info" : "message";
    box.hidden = !text;
    if (text) { box.scrollIntoView({ block: "nearest" }); }
  }

  function busy(on) { $("busy").hidden = !on; }

  function errorText(body, status) {
    var code = body && body.code;
    var text = (code && ERRORS[code]) || (body && body.message) || ("请求失败（" + status + "）");
    if (code === "INTENT_WRONG_ANSWER" && body.details && body.details.attempts_left !== undefined) {
      text += "还可尝试 " + body.details.attempts_left + " 次。";
    }
    return text + (code ? " [" + code + "]" : "");
  }

  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    busy(true);
    return fetch(base + path, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = new Error(errorText(data, response.status));
          error.code = data && data.code;
          error.status = response.status;
          throw error;
        }
        return data;
      });
    }).finally(function () { busy(false); });
  }

  function fail(error) {
    say(error.message || String(error));
    if (["LINK_EXPIRED", "LINK_REVOKED", "H5_SESSION_REQUIRED", "ENVELOPE_EXPIRED",
         "ENVELOPE_STATE_INVALID"].indexOf(error.code) >= 0) {
      show("closed", error.message);
    } else if (error.code === "SIGNER_ALREADY_SIGNED") {
      refresh();
    }
  }

  function skipped(step) {
    if (!state) { return false; }
    if (step === "clauses") { return state.clauses.length === 0; }
    if (step === "changes") { return state.changes.length === 0; }
    if (step === "intent") { return state.signer.intent_method === "none"; }
    return false;
  }

  function allAcknowledged() {
    return !state.clauses.some(function (c) { return !c.acknowledged; });
  }

  function show(step, text) {
    flowStep = step;
    app.setAttribute("data-step", step);
    var sections = document.querySelectorAll("section.step");
    for (var i = 0; i < sections.length; i++) { sections[i].hidden = sections[i].id !== "step-" + step; }
    var at = ORDER.indexOf(step);
    var items = document.querySelectorAll("#steps li");
    for (var j = 0; j < items.length; j++) {
      var name = items[j].getAttribute("data-step");
      var index = ORDER.indexOf(name);
      items[j].className = (index === at ? "current" : (at >= 0 && index < at ? "done" : "")) +
        (skipped(name) ? " skipped" : "");
    }
    if (step === "closed") { $("closed-text").textContent = text || "该文件当前不可签署。"; }
    document.title = "电子签署 · " + (({ identity: "身份核验", read: "阅读文件", clauses: "免责条款",
      changes: "变更内容", intent: "意愿确认", sign: "手写签名", done: "完成", closed: "无需签署",
      reject: "拒绝签署" })[step] || "");
    window.scrollTo(0, 0);
    if (step === "sign") { pad.resize(); }
  }

  function next(after) {
    var i = ORDER.indexOf(after) + 1;
    while (i < ORDER.length - 1 && (skipped(ORDER[i]) || (ORDER[i] === "clauses" && allAcknowledged()))) { i++; }
    var step = ORDER[i];
    if (step === "clauses") { startClauses(); }
    if (step === "changes") { renderChanges(); }
    if (step === "intent") { prepareIntent(); }
    if (step === "done") { renderDone(); }
    show(step);
  }

  // -- state -------------------------------------------------------------------------------------
  function refresh() {
    return api("GET", "/state").then(function (data) {
      state = data;
      $("doc-title").textContent = data.envelope.title || "电子签署";
      $("signer-name").textContent = data.signer.name || "签署人";
      $("identity-methods").textContent = data.signer.identity_methods.length ?
        data.signer.identity_methods.map(function (m) { return METHOD_NAMES[m] || m; }).join("、") : "本人确认";
      route();
      return data;
    }).catch(fail);
  }

  function route() {
    var step = state.step;
    if (step === "done") { renderDone(); show("done"); return; }
    if (step === "closed") {
      var text = state.signer.status === "rejected" ? "您已拒绝签署该文件。" :
        "该文件" + (ENVELOPE_STATUS[state.envelope.status] || state.envelope.status) + "，无需签署。";
      show("closed", text); return;
    }
    if (step === "waiting") { show("closed", ERRORS.SIGNER_NOT_READY); return; }
    if (step === "identity") { show("identity"); return; }
    renderPages();
    show("read");
  }

  // -- 1 identity --------------------------------------------------------------------------------
  function identity(faceSession) {
    say("");
    api("POST", "/identity", faceSession ? { face_session: faceSession } : {}).then(function (result) {
      if (result.face_session && !result.identity_checked) {
        $("face-link").href = result.face_session.url;
        $("face-box").hidden = false;
        $("btn-face-done").setAttribute("data-session", result.face_session.id);
        return;
      }
      say("身份核验通过。", true);
      return refresh();
    }).catch(fail);
  }

  // -- 2 read ------------------------------------------------------------------------------------
  function renderPages() {
    var holder = $("pages");
    holder.textContent = "";
    $("page-count").textContent = state.page_count || 0;
    for (var n = 1; n <= (state.page_count || 0); n++) {
      var img = document.createElement("img");
      img.alt = "第 " + n + " 页";
      img.loading = n <= 2 ? "eager" : "lazy";
      img.src = base + "/pages/" + n + ".png";
      holder.appendChild(img);
    }
    $("pdf-link").href = state.document_url;
  }

  // -- 3 clauses ---------------------------------------------------------------------------------
  function startClauses() {
    clauseQueue = state.clauses.filter(function (c) { return !c.acknowledged; });
    showClause();
  }

  function showClause() {
    var total = state.clauses.length;
    if (!clauseQueue.length) { next("clauses"); return; }
    var clause = clauseQueue[0];
    var number = total - clauseQueue.length + 1;
    $("clause-progress").textContent = "第 " + number + " 条 / 共 " + total + " 条";
    $("clause-title").textContent = clause.title;
    $("clause-text").textContent = clause.text;
    $("clause-box").setAttribute("data-clause", clause.id);
    $("clause-box").scrollTop = 0;
    clauseShownAt = Date.now();
    clauseVisibleMs = 0;
    var button = $("btn-clause-ack");
    button.disabled = true;
    clearInterval(clauseTimer);
    var tick = function () {
      var left = Math.ceil(MIN_CLAUSE_SECONDS - shownSeconds());
      if (left > 0) {
        button.textContent = "请仔细阅读（" + left + " 秒）";
      } else {
        button.disabled = false;
        button.textContent = "我已阅读并理解本条款";
        clearInterval(clauseTimer);
      }
    };
    tick();
    clauseTimer = setInterval(tick, 250);
  }

  function shownSeconds() {  // time the clause was on screen while the page was visible
    var running = document.hidden || !clauseShownAt ? 0 : Date.now() - clauseShownAt;
    return (clauseVisibleMs + running) / 1000;
  }

  document.addEventListener("visibilitychange", function () {
    if (!clauseShownAt && !clauseVisibleMs) { return; }
    if (document.hidden) { clauseVisibleMs += Date.now() - clauseShownAt; clauseShownAt = 0; }
    else { clauseShownAt = Date.now(); }
  });

  function ackClause() {
    var clause = clauseQueue[0];
    if (!clause) { return; }
    var seconds = Math.round(shownSeconds() * 10) / 10;
    api("POST", "/clauses/" + encodeURIComponent(clause.id) + "/ack", { shown_seconds: seconds })
      .then(function () {
        clause.acknowledged = true;
        clauseQueue.shift();
        showClause();
      }).catch(fail);
  }

  // -- 4 changes ---------------------------------------------------------------------------------
  function renderChanges() {
    var body = $("changes-body");
    body.textContent = "";
    state.changes.forEach(function (change) {
      var row = document.createElement("tr");
      [[change.label || change.field, ""], [change.old, "old"], [change.new, "new"]].forEach(function (cell) {
        var td = document.createElement("td");
        td.textContent = cell[0];
        if (cell[1]) { td.className = cell[1]; }
        row.appendChild(td);
      });
      body.appendChild(row);
    });
  }

  // -- 5 intent ----------------------------------------------------------------------------------
  function prepareIntent() {
    var method = state.signer.intent_method;
    intent = null;
    $("intent-sms").hidden = method !== "sms";
    $("intent-password-box").hidden = method !== "password";
    $("intent-sent").hidden = true;
    $("intent-code").value = "";
    $("intent-password").value = "";
    $("intent-hint").textContent = method === "password" ?
      "请输入您的签署密码，确认本人自愿签署该文件。" :
      method === "face" ? "请完成人脸识别，确认本人自愿签署该文件。" :
      "我们将向您的手机发送验证码，输入验证码即确认本人自愿签署该文件。";
  }

  function startIntent() {
    say("");
    return api("POST", "/intent", {}).then(function (started) {
      intent = started;
      if (started.method === "sms") {
        $("intent-sent").textContent = "验证码已发送至 " + (started.sent_to || "您的手机") + "，5 分钟内有效。";
        $("intent-sent").hidden = false;
        $("intent-code").focus();
        cooldown($("btn-intent-start"), 60);
      }
      if (started.face_session) { window.open(started.face_session.url, "_blank"); }
      return started;
    }).catch(fail);
  }

  function cooldown(button, seconds) {
    var left = seconds;
    button.disabled = true;
    var timer = setInterval(function () {
      left -= 1;
      button.textContent = left > 0 ? "重新获取（" + left + " 秒）" : "重新获取短信验证码";
      if (left <= 0) { button.disabled = false; clearInterval(timer); }
    }, 1000);
  }

  function confirmIntent() {
    say("");
    var method = state.signer.intent_method;
    var answer = {};
    if (method === "sms") {
      var code = $("intent-code").value.trim();
      if (!/^\d{6}$/.test(code)) { say("请输入 6 位短信验证码。"); return; }
      if (!intent) { say("请先获取短信验证码。"); return; }
      answer.code = code;
    } else if (method === "password") {
      if (!$("intent-password").value) { say("请输入签署密码。"); return; }
      answer.password = $("intent-password").value;
    }
    var started = intent ? Promise.resolve(intent) : startIntent();
    started.then(function (current) {
      if (!current) { return; }
      answer.intent_id = current.id;
      return api("POST", "/intent/confirm", answer).then(function (done) {
        intent = { id: done.id, method: done.method, confirmed: true };
        $("intent-password").value = "";
        say("意愿确认成功，请手写签名。", true);
        next("intent");
      });
    }).catch(function (error) {
      if (["INTENT_EXPIRED", "INTENT_LOCKED", "INTENT_ALREADY_USED"].indexOf(error.code) >= 0) { intent = null; }
      fail(error);
    });
  }

  // -- 6 handwriting -----------------------------------------------------------------------------
  var pad = (function () {
    var canvas = $("pad");
    var context = canvas.getContext("2d");
    var strokes = [];
    var current = null;
    var started = 0;
    var pointer = null;

    function resize() {
      var ratio = window.devicePixelRatio || 1;
      var rect = canvas.getBoundingClientRect();
      if (!rect.width) { return; }
      canvas.width = Math.round(rect.width * ratio);
      canvas.height = Math.round(rect.height * ratio);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      redraw();
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      if (!started) { started = event.timeStamp || Date.now(); }
      var pressure = event.pressure;
      if (!pressure || event.pointerType === "mouse") { pressure = 0.5; }
      return {
        x: Math.round(Math.max(0, event.clientX - rect.left) * 10) / 10,
        y: Math.round(Math.max(0, event.clientY - rect.top) * 10) / 10,
        t: Math.max(0, Math.round((event.timeStamp || Date.now()) - started)),
        p: Math.round(Math.min(1, Math.max(0, pressure)) * 100) / 100
      };
    }

    function segment(a, b) {
      context.lineWidth = 1.5 + 3.5 * b.p;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      context.beginPath();
      context.moveTo(a.x, a.y);
      context.lineTo(b.x, b.y);
      context.stroke();
    }

    function counted() { canvas.setAttribute("data-strokes", String(strokes.length)); }

    function redraw() {
      counted();
      context.clearRect(0, 0, canvas.width, canvas.height);
      strokes.forEach(function (stroke) {
        for (var i = 1; i < stroke.length; i++) { segment(stroke[i - 1], stroke[i]); }
      });
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (pointer !== null) { return; }
      event.preventDefault();
      pointer = event.pointerId;
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(pointer); } catch (e) { /* synthetic */ } }
      current = [point(event)];
      strokes.push(current);
      counted();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (event.pointerId !== pointer || !current) { return; }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) { events = [event]; }
      events.forEach(function (e) {
        var p = point(e);
        var last = current[current.length - 1];
        if (Math.abs(p.x - last.x) + Math.abs(p.y - last.y) < 0.5) { return; }
        current.push(p);
        segment(last, p);
      });
    });
    function end(event) {
      if (event.pointerId !== pointer) { return; }
      pointer = null;
      current = null;
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    window.addEventListener("resize", resize);

    return {
      resize: resize,
      clear: function () { strokes = []; current = null; pointer = null; started = 0; redraw(); },
      undo: function () { strokes.pop(); redraw(); },
      strokes: function () { return strokes.filter(function (s) { return s.length > 0; }); },
      points: function () { return strokes.reduce(function (n, s) { return n + s.length; }, 0); }
    };
  })();

  function submit() {
    say("");
    var strokes = pad.strokes();
    if (!strokes.length || pad.points() < 5) { say(ERRORS.SIGNATURE_BLANK); return; }
    var body = { strokes: strokes, ink: "black" };
    if (intent && intent.id) { body.intent_id = intent.id; }
    $("btn-submit").disabled = true;
    api("POST", "/sign", body).then(function (done) {
      state.signer.status = done.signer_status;
      state.envelope.status = done.envelope_status;
      state.document_url = done.download_url;
      state.signer.signed_at = done.signed_at;
      renderDone();
      say("");
      show("done");
    }).catch(function (error) {
      if (error.code === "INTENT_NOT_FOUND" || error.code === "INTENT_DOCUMENT_MISMATCH") {
        intent = null;
        fail(error);
        prepareIntent();
        show("intent");
        say(error.message);
        return;
      }
      fail(error);
    }).finally(function () { $("btn-submit").disabled = false; });
  }

  // -- 7 done ------------------------------------------------------------------------------------
  function renderDone() {
    $("done-status").textContent = "签署完成";
    $("done-envelope").textContent = "文件状态：" +
      (ENVELOPE_STATUS[state.envelope.status] || state.envelope.status) +
      (state.signer.signed_at ? "；签署时间：" + new Date(state.signer.signed_at).toLocaleString("zh-CN") : "");
    $("download").href = state.document_url || (base + "/document.pdf");
    $("download").setAttribute("download", (state.envelope.business_no || "signed") + ".pdf");
  }

  // -- reject ------------------------------------------------------------------------------------
  var beforeReject = "read";
  function reject() {
    var comment = $("reject-comment").value.trim();
    if (!comment) { say("请填写拒绝原因。"); return; }
    api("POST", "/reject", { comment: comment }).then(function () {
      say("");
      show("closed", "您已拒绝签署该文件。");
    }).catch(fail);
  }

  // -- wiring ------------------------------------------------------------------------------------
  $("btn-identity").addEventListener("click", function () { identity(""); });
  $("btn-face-done").addEventListener("click", function () {
    identity(this.getAttribute("data-session"));
  });
  $("btn-read-done").addEventListener("click", function () { say(""); next("read"); });
  $("btn-clause-ack").addEventListener("click", ackClause);
  $("btn-changes-ok").addEventListener("click", function () { say(""); next("changes"); });
  $("btn-intent-start").addEventListener("click", startIntent);
  $("btn-intent-confirm").addEventListener("click", confirmIntent);
  $("btn-clear").addEventListener("click", pad.clear);
  $("btn-undo").addEventListener("click", pad.undo);
  $("btn-submit").addEventListener("click", submit);
  $("btn-reject-open").addEventListener("click", function () { beforeReject = flowStep; say(""); show("reject"); });
  $("btn-reject-cancel").addEventListener("click", function () { say(""); show(beforeReject); });
  $("btn-reject").addEventListener("click", reject);
  $("intent-code").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { confirmIntent(); }
  });

  refresh();
})();
