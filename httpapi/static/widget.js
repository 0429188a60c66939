/*! Switchboard widget, plain JS. <script src="https://HOST/widget.js" async
 * data-server="https://HOST" data-call-server="https://ACD-HOST" data-groups="billing,support" data-lang="en"
 * data-ice-servers='[{"urls":"stun:stun.example.com"}]' data-mode="launcher|inline" data-position="right|left"
 * data-color="#0b57d0" data-text="Contact us" data-logo="/logo.svg"> (all optional). Inline in the page's
 * #switchboard-widget when it has one, else a launcher button in a corner. */
(function () {
  'use strict';
  var T = {
    en: { title: 'Contact support', loading: 'Loading…', open: 'Available now',
      busy: 'Open, all agents busy', full: 'Queue full', closed: 'Closed', 'after-hours': 'After hours',
      opens: 'Opens %',
      wait: 'Approximate wait: ', talk: 'Talk now', callback: 'Call me back', chosen: ' selected.',
      failed: 'Availability unknown.', unsaved: 'Your choice could not be saved.',
      connecting: 'Connecting…', reconnecting: 'Reconnecting…', queued: 'You are number % in the queue.',
      ringing: 'Calling %…', talking: 'Talking with %.', anAgent: 'an agent', agent: 'Agent', you: 'You',
      hangup: 'Hang up', mute: 'Mute', unmute: 'Unmute', muted: 'Microphone off.', unmuted: 'Microphone on.',
      level: 'Microphone level', micSel: 'Microphone', spkSel: 'Speaker',
      keypad: 'Keypad', msg: 'Message to the agent', send: 'Send', under: 'under 1 minute',
      undelivered: ' (not delivered)',
      about: { one: 'about % minute', other: 'about % minutes' }, nomic: 'Your microphone could not be used.', nortc: 'This browser cannot make calls.',
      'group closed': 'This team is closed', 'queue full': 'The queue is full', 'unknown group': 'Unknown team',
      'no agents': 'No agent is available', 'media full': 'The service is busy', 'r-visitor-hangup': 'Call ended.', 'r-agent-hangup': 'The agent hung up.',
      'r-no-data-connection': 'The connection could not be made.', 'r-media-timeout': 'The connection was lost.',
      'r-no-agent': 'No agent is available any more.', 'r-shutdown': 'The service stopped.',
      'r-error': 'The call failed.', offer: 'Leave your number and we will call you back.',
      overdue: 'Waiting a long time? Leave your number and we will call you back, or keep waiting.',
      phone: 'Your phone number', name: 'Your name (optional)', close: 'Close', cancel: 'Cancel', sending: 'Sending…',
      later: 'Please try again later.', lost: 'This call-back is no longer known.', unsent: 'Your request could not be sent.',
      'cb-queued': 'We will call you back at %: you are number #.', 'cb-calling': 'We are calling you at %.',
      'cb-talking': 'You are on the phone with an agent.', 'cb-done': 'Call-back done. Thank you!',
      'cb-failed': 'We could not reach you at %.', 'cb-cancelled': 'Call-back cancelled.',
      'cb-taken': 'An agent will call you at % shortly.', eg: 'e.g. %', 'phone ok': 'We will call %.',
      consent: 'We will call this number once, about this request only.', 'bad phone': 'This number is not valid',
      'blocked phone type': 'We cannot call this kind of number', 'country not allowed': 'We cannot call numbers of this country',
      'rate limited': 'Too many requests', chat: 'Chat', endChat: 'End chat', chatWith: 'Chatting with %.',
      typing: '% is typing…', 'chat-queued': 'An agent will answer: you are number % in the queue.',
      'c-visitor-left': 'Chat ended.', 'c-agent-ended': 'The agent ended the chat.',
      'c-idle': 'The chat ended after a while without messages.', 'c-shutdown': 'The service stopped.',
      'chat ended': 'The chat has ended', 'chat busy': 'Too many messages at once',
      held: 'On hold: % will be back in a moment.' },
    fr: { title: 'Contacter le support', loading: 'Chargement…', open: 'Disponible', busy: 'Tous occupés',
      full: 'File d’attente pleine', closed: 'Fermé', 'after-hours': 'Hors horaires', opens: 'Ouvre %',
      wait: 'Attente estimée : ', talk: 'Parler maintenant',
      callback: 'Être rappelé', chosen: ' choisi.', failed: 'Disponibilité inconnue.', unsaved: 'Choix non enregistré.',
      connecting: 'Connexion…', reconnecting: 'Reconnexion…',
      queued: 'Vous êtes en position % dans la file.', ringing: 'Nous appelons %…', talking: 'En ligne avec %.',
      anAgent: 'un agent', agent: 'Agent', you: 'Vous', hangup: 'Raccrocher', mute: 'Couper le micro',
      unmute: 'Rétablir le micro', muted: 'Micro coupé.', unmuted: 'Micro rétabli.', keypad: 'Clavier',
      level: 'Niveau du micro', micSel: 'Microphone', spkSel: 'Haut-parleur',
      msg: 'Message à l’agent', send: 'Envoyer', under: 'moins d’une minute',
      about: { one: 'environ % minute', other: 'environ % minutes' },
      undelivered: ' (non remis)',
      nomic: 'Le micro n’a pas pu être utilisé.', nortc: 'Ce navigateur ne peut pas appeler.',
      'group closed': 'Cette équipe est fermée', 'queue full': 'La file d’attente est pleine',
      'unknown group': 'Équipe inconnue', 'no agents': 'Aucun agent disponible', 'media full': 'Le service est saturé',
      'r-visitor-hangup': 'Appel terminé.', 'r-agent-hangup': 'L’agent a raccroché.',
      'r-no-data-connection': 'La connexion n’a pas pu être établie.', 'r-media-timeout': 'La connexion a été perdue.',
      'r-no-agent': 'Plus aucun agent disponible.', 'r-shutdown': 'Le service s’est arrêté.',
      'r-error': 'L’appel a échoué.', offer: 'Laissez votre numéro, nous vous rappellerons.',
      overdue: 'L’attente est longue ? Laissez votre numéro, nous vous rappellerons, ou patientez.',
      phone: 'Votre numéro de téléphone', name: 'Votre nom (facultatif)', close: 'Fermer', cancel: 'Annuler',
      sending: 'Envoi…', later: 'Veuillez réessayer plus tard.', lost: 'Ce rappel n’est plus connu.',
      unsent: 'Votre demande n’a pas pu être envoyée.',
      'cb-queued': 'Nous vous rappellerons au % : vous êtes en position # dans la file.',
      'cb-calling': 'Nous vous appelons au %.', 'cb-talking': 'Vous êtes en ligne avec un agent.',
      'cb-done': 'Rappel effectué. Merci !', 'cb-failed': 'Nous n’avons pas pu vous joindre au %.',
      'cb-cancelled': 'Rappel annulé.', 'cb-taken': 'Un agent va vous appeler au % sous peu.', eg: 'ex. %',
      'phone ok': 'Nous appellerons le %.', consent: 'Nous appellerons ce numéro une fois, pour cette demande seulement.',
      'bad phone': 'Ce numéro n’est pas valide', 'blocked phone type': 'Nous ne pouvons pas appeler ce type de numéro',
      'country not allowed': 'Nous ne pouvons pas appeler les numéros de ce pays', 'rate limited': 'Trop de demandes',
      chat: 'Écrire', endChat: 'Terminer la discussion', chatWith: 'En discussion avec %.', typing: '% écrit…',
      'chat-queued': 'Un agent va vous répondre : vous êtes en position % dans la file.',
      'c-visitor-left': 'Discussion terminée.', 'c-agent-ended': 'L’agent a terminé la discussion.',
      'c-idle': 'La discussion s’est terminée faute de messages.', 'c-shutdown': 'Le service s’est arrêté.',
      'chat ended': 'La discussion est terminée', 'chat busy': 'Trop de messages à la fois',
      held: 'En attente : % revient dans un instant.' }
  };
  // In the widget's shadow root: the site's CSS does not reach it, and it
  // does not reach the site. Colours are custom properties the site may set
  // on #switchboard-widget (--sbw-accent, --sbw-bg, --sbw-text).
  var CSS = ':host{all:initial;display:block;--a:var(--sbw-accent,#0b57d0);--b:var(--sbw-bg,#fff);' +
    '--c:var(--sbw-text,#222)}:host([data-mode=launcher]){position:fixed;z-index:2147483000;bottom:20px;' +
    'right:20px;display:flex;flex-direction:column;align-items:flex-end}:host([data-position=left]){right:auto;' +
    'left:20px;align-items:flex-start}.sbw{font:15px/1.4 system-ui,sans-serif;color:var(--c);background:var(--b);' +
    'max-width:24rem;border:1px solid #ccc;border-radius:8px;padding:12px 16px;box-sizing:border-box}' +
    ':host([data-mode=launcher]) .sbw{width:min(24rem,calc(100vw - 40px));max-height:calc(100vh - 110px);' +
    'overflow-y:auto;margin-bottom:12px;box-shadow:0 8px 28px rgba(0,0,0,.22)}@media (prefers-reduced-motion:' +
    'no-preference){:host([data-mode=launcher]) .sbw{animation:sbw-in .15s ease-out}}@keyframes sbw-in{from' +
    '{opacity:0;transform:translateY(8px)}}.sbw-launch{font:600 15px/1.2 system-ui,sans-serif;display:flex;' +
    'align-items:center;gap:8px;padding:12px 18px;border:0;border-radius:24px;background:var(--a);color:#fff;' +
    'cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}.sbw-launch img{height:22px;width:auto}' +
    '.sbw-launch .sbw-s:before{margin:0;border:2px solid #fff}.sbw-vh{position:absolute;width:1px;height:1px;' +
    'overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}:focus-visible{outline:2px solid var(--a);' +
    'outline-offset:2px}.sbw-launch:focus-visible{outline-color:var(--c)}' +
    '.sbw fieldset{border:0;margin:0;padding:0}' +
    '.sbw legend,.sbw-n{font-weight:600}.sbw-g{display:flex;gap:8px;padding:6px 0;border-top:1px solid #eee}' +
    '.sbw-n,.sbw-w{display:block}.sbw-w{color:#555}.sbw-s:before{content:"";display:inline-block;width:.6em;' +
    'height:.6em;border-radius:50%;margin-right:.4em;background:#888}[data-status=open]:before{background:' +
    '#1a7f37}[data-status=busy]:before{background:#b35900}.sbw button{font:inherit;padding:6px 12px;' +
    'margin:10px 8px 0 0;border-radius:6px;border:1px solid var(--a);background:var(--a);color:#fff}' +
    '.sbw button+button{background:var(--b);color:var(--a)}.sbw button:disabled{opacity:.45}' +
    '.sbw-l{min-height:1.4em;margin:8px 0 0}' +
    '[hidden]{display:none!important}.sbw .sbw-h{background:#b3261e;border-color:#b3261e;color:#fff}' +
    '.sbw-t{margin-right:8px;font-variant-numeric:tabular-nums}.sbw-v{width:5em;margin-left:8px;' +
    'vertical-align:middle}.sbw-x{font:inherit;margin:8px 8px 0 0;max-width:12em}.sbw-k{display:grid;gap:6px;margin-top:10px;' +
    'grid-template-columns:repeat(3,3em)}.sbw .sbw-k button{margin:0;padding:6px 0;background:var(--b);color:var(--a)}' +
    '.sbw-d,.sbw-m{color:#555}.sbw-log{max-height:9em;overflow-y:auto;margin:8px 0 0;padding:4px 8px;' +
    'border:1px solid #eee}.sbw-log p{margin:0}.sbw input[type=text]{font:inherit;padding:5px;width:60%}' +
    '.sbw-f{margin-top:10px;border-top:1px solid #eee}.sbw-f label{display:block;margin-top:8px}.sbw .sbw-f input' +
    '{display:block;font:inherit;padding:5px;width:90%}.sbw-c{margin:8px 0 0}';

  var d = document, script = d.currentScript, ID = 'switchboard-widget';
  if (!script) return;
  var ds = script.dataset;
  var server = (ds.server || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  // Calls and callbacks go to the ACD's host when it is not this one.
  var callServer = (ds.callServer || server).replace(/\/+$/, '');
  var only = ds.groups ? ds.groups.split(/\s*,\s*/) : null;
  var lang = (ds.lang || d.documentElement.lang || 'en').toLowerCase().split('-')[0];
  var ice = [];
  try { ice = ds.iceServers ? [].concat(JSON.parse(ds.iceServers)) : []; } catch (x) {}
  var root, panel, launch, dot, lstat, chatB, form, list, talk, cb, live, groups = [], rows = {}, shown, chosen = null, picked = false;
  var cur = null, ui = {}, clock; // the call, its elements, its timer
  function t(k) { return (T[lang] || T.en)[k] || T.en[k]; }
  // tn is message k for the number n, in the plural form the language's rules pick.
  function tn(k, n) {
    var v = t(k), f = 'other';
    try { f = new Intl.PluralRules(lang).select(n); } catch (x) {}
    return (v[f] || v.other).replace('%', n);
  }
  function el(tag, parent, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return parent ? parent.appendChild(e) : e;
  }
  function attr(e, k, v) { e.setAttribute(k, v); }
  function say(s) { live.textContent = s; }
  function group(id) { return groups.filter(function (g) { return g.id === id; })[0]; }
  function req(method, path, body) {
    var o = { method: method, credentials: 'include' };
    if (body) { o.headers = { 'Content-Type': 'application/json' }; o.body = JSON.stringify(body); }
    if (method === 'DELETE') o.keepalive = true; // also when the page goes away
    return fetch((/^\/v1\/(call|phone)/.test(path) ? callServer : server) + path, o);
  }
  function emit(name, detail) {
    root.dispatchEvent(new CustomEvent('switchboard:' + name, { bubbles: true, detail: detail }));
  }
  function btn(name, parent, action, cls) {
    var b = el('button', parent, cls, t(name));
    b.type = 'button';
    b.dataset.action = name;
    b.onclick = action;
    return b;
  }
  function buttons() {
    var g = group(chosen);
    talk.disabled = !(g && (g.status === 'open' || g.status === 'busy')) || active();
    chatB.disabled = talk.disabled || chatting() || !!Q.opening;
    cb.disabled = !g || kBusy();
    if (rows[chosen]) rows[chosen].input.checked = true;
  }

  function choose(id) {
    chosen = id;
    picked = true;
    buttons();
    say(group(id).name + t('chosen'));
    req('POST', '/v1/context', { group: id, language: lang, page: location.pathname }).then(function (r) {
      if (!r.ok) throw r;
      if (chosen === id) root.dataset.saved = id;
    }).catch(function () { say(t('unsaved')); });
  }

  function render(data) {
    var before = group(chosen), ids = [];
    groups = (data.groups || []).filter(function (g) { return !only || only.indexOf(g.id) >= 0; });
    groups.forEach(function (g) { ids.push(g.id); });
    if (ids.join() !== shown) {
      shown = ids.join();
      list.textContent = '';
      rows = {};
      groups.forEach(function (g) {
        var row = el('div', list, 'sbw-g'), input = el('input', row), label = el('label', row);
        Object.assign(input, { type: 'radio', name: 'sbw-group', value: g.id, id: 'sbw-g-' + g.id });
        label.htmlFor = input.id;
        input.onchange = function () { if (input.checked) choose(g.id); };
        row.dataset.group = g.id;
        rows[g.id] = { input: input, name: el('span', label, 'sbw-n'), status: el('span', label, 'sbw-s'),
          wait: el('span', label, 'sbw-w') };
      });
      if (!group(chosen)) chosen = ids[0] || null;
      if (!picked) say('');
    }
    groups.forEach(function (g) {
      // busy and full show the wait, open too when more wait than agents are free,
      // in the widget's words; closed shows none, after-hours the next opening.
      var r = rows[g.id], key = g.status;
      var w = (key === 'open' || key === 'busy' || key === 'full') && g.ewt_seconds > 0;
      r.name.textContent = g.name;
      r.status.textContent = T.en[key] ? t(key) : g.status;
      r.status.dataset.status = key;
      r.wait.textContent = w ? mins(g.ewt_seconds) : key === 'after-hours' && g.opens_at ? opens(g.opens_at) : '';
    });
    var now = group(chosen);
    if (picked && before && now && before.status !== now.status) say(now.name + ': ' + rows[now.id].status.textContent);
    buttons();
    if (!launch) return;
    // the launcher's dot: the best any team offers
    var best = ['open', 'busy', 'full', 'after-hours'].filter(function (k) {
      return groups.some(function (g) { return g.status === k; });
    })[0] || 'closed';
    dot.dataset.status = best;
    lstat.textContent = ', ' + t(best);
  }

  // opens says when an after-hours group opens, in the visitor's time zone.
  function opens(at) {
    var when = new Date(at), o = { hour: '2-digit', minute: '2-digit' };
    if (isNaN(when)) return '';
    if (when - Date.now() > 18 * 3600e3) o.weekday = 'long';
    try { return t('opens').replace('%', when.toLocaleString(lang, o)); } catch (x) { return ''; }
  }

  // Talk now: a WebRTC call to an agent's phone (docs/calls.md), window.switchboardCall
  // {pc, id, state, …}, its state in the root's data-call-state.
  function active() { return !!cur && cur.state !== 'ended'; }
  function mins(s) { return t('wait') + (s < 60 ? t('under') : tn('about', Math.round(s / 60))); }
  function setState(c, s, reason) {
    c.state = root.dataset.callState = s;
    c.reason = root.dataset.callReason = reason || '';
    ui.call.hidden = !active();
    ui.mute.hidden = ui.keypad.hidden = ui.level.hidden = s !== 'talking';
    ui.chat.hidden = s !== 'talking' && !chatting();
    ui.mic.hidden = s !== 'talking' || ui.mic.options.length < 2;
    ui.spk.hidden = s !== 'talking' || ui.spk.options.length < 2;
    ui.keys.hidden = s !== 'talking' || ui.keypad.getAttribute('aria-expanded') !== 'true';
    ui.log.hidden = !ui.log.firstChild;
    buttons();
  }
  function dial(gid) {
    var c = cur = window.switchboardCall = { group: gid }, md = navigator.mediaDevices, pc;
    if (!chatting()) ui.log.textContent = ''; // a chat's goes on into the call
    ui.digits.textContent = ui.timer.textContent = '';
    attr(ui.keypad, 'aria-expanded', 'false');
    setState(c, 'connecting');
    say(c.msg = t('connecting'));
    if (!window.RTCPeerConnection || !md) return noData(c, 'unsupported', t('nortc'));
    md.getUserMedia({ audio: true }).then(function (mic) {
      c.mic = mic;
      mute(c, false);
      meter(c);
      if (c.state === 'ended') return stop(c); // hung up meanwhile
      pc = c.pc = new RTCPeerConnection({ iceServers: ice });
      c.dc = pc.createDataChannel('chat', { protocol: 'switchboard-chat+json' }); // with receipts
      c.dc.onmessage = function (e) { chatIn(c, e.data); };
      c.sender = pc.addTrack(mic.getAudioTracks()[0], mic);
      devices(c);
      pc.ontrack = function (e) { ui.audio.srcObject = e.streams[0] || new MediaStream([e.track]); };
      pc.oniceconnectionstatechange = function () { iceState(c); };
      return offerAll(pc).then(function () {
        return c.state !== 'ended' && req('POST', '/v1/calls', { group: gid, sdp: pc.localDescription.sdp,
          chat_id: chatting() ? Q.id : undefined }); // the chat's agent first
      }).then(function (r) {
        return r && r.json().catch(function () { return {}; }).then(function (j) {
          var e = String(j.error || r.status).replace(/_/g, ' '), w = j.ewt_seconds; // "queue full" or "queue_full"
          if (r.status !== 201) { // 4xx: the error; 503 (closed, queue full): and the wait
            // the widget's own words for the codes it knows, never the server's English
            e = T.en[e] ? t(e) : (r.status === 503 ? t('later') : t('r-error')).replace(/\.$/, '');
            return end(c, 'http-' + r.status, e + '.' + (r.status === 503 && w ? ' ' + mins(w) + '.' : ''));
          }
          c.id = j.call_id;
          if (c.state === 'ended') return del(c);
          return pc.setRemoteDescription({ type: 'answer', sdp: j.sdp }).then(function () {
            update(c, j);
            follow(c);
          });
        });
      });
    }, function () { noData(c, 'no-microphone', t('nomic')); }).catch(function () { del(c); end(c, 'error'); });
  }
  // offerAll makes pc's offer (o: its options) and waits for its candidates: no trickle, all of
  // them, or those of the first 3 s.
  function offerAll(pc, o) {
    return pc.createOffer(o).then(function (x) { return pc.setLocalDescription(x); }).then(function () {
      return new Promise(function (ok) {
        setTimeout(ok, 3000);
        (pc.onicegatheringstatechange = function () { pc.iceGatheringState === 'complete' && ok(); })();
      });
    });
  }
  // A network change mid-call (docs/calls.md): ICE disconnected or failed shows Reconnecting… and
  // restarts ICE over HTTP; the call, its agent and its timer go on. The root's data-connection
  // says which; the server ends a call whose browser is silent for media.timeout.
  function iceState(c) {
    var s = c.pc.iceConnectionState;
    if (c !== cur || !active()) return;
    if (s === 'connected' || s === 'completed') {
      root.dataset.connection = 'connected';
      if (c.lost) { c.lost = false; say(c.msg); }
    } else if (/^(disconnected|failed)$/.test(s) && c.id) {
      if (!c.lost) { c.lost = true; root.dataset.connection = 'reconnecting'; say(t('reconnecting')); }
      restart(c);
    }
  }
  function restart(c) {
    var pc = c.pc;
    if (c.restarting || c !== cur || !active()) return;
    c.restarting = true;
    offerAll(pc, { iceRestart: true }).then(function () {
      return req('POST', '/v1/calls/' + encodeURIComponent(c.id) + '/ice-restart', { sdp: pc.localDescription.sdp });
    }).then(function (r) {
      if (!r.ok) throw r;
      return r.json().then(function (j) { return pc.setRemoteDescription({ type: 'answer', sdp: j.sdp }); });
    }).then(function () { c.restarting = false; }, function (r) {
      c.restarting = false;
      if (pc.signalingState === 'have-local-offer') pc.setLocalDescription({ type: 'rollback' }).catch(function () {});
      // no answer (the network is still down) or busy: again in 2 s while lost; refused: the
      // call goes on as it can, and the server ends it at media.timeout.
      if (!r || !r.status || r.status >= 500 || (r.headers && r.headers.get('Retry-After'))) {
        setTimeout(function () { c.lost && /^(disconnected|failed)$/.test(pc.iceConnectionState) && restart(c); }, 2000);
      }
    });
  }
  function follow(c) {
    var es = c.es = new EventSource(callServer + '/v1/calls/' + encodeURIComponent(c.id) + '/events',
      { withCredentials: true });
    es.addEventListener('call', function (e) { update(c, JSON.parse(e.data)); });
    es.onerror = function () { if (es.readyState === 2) { del(c); end(c, 'error'); } }; // else it reconnects
    if (c.state === 'ended') es.close();
  }
  function update(c, j) {
    var s = j.state, m = c.msg, who = (c.agent = j.agent || c.agent) || t('anAgent'), at;
    if (c.state === 'ended') return;
    if (s === 'ended') {
      return j.reason === 'no-data-connection' ? noData(c, j.reason, t('r-' + j.reason)) : end(c, j.reason || 'error');
    }
    if (s === 'queued') m = t('queued').replace('%', j.position || 1) + ' ' + mins(j.ewt_seconds || 0) + '.';
    if (s === 'queued' && j.callback_offered && !c.overdue) { // past the group's max_wait: offer a call-back
      c.overdue = true;
      m += ' ' + t('overdue');
      emit('callback', { group: c.group });
      offer(c.group);
    }
    if (s === 'ringing') m = t('ringing').replace('%', who);
    root.dataset.held = String(s === 'talking' && !!j.held);
    if (s === 'talking' && j.held) m = t('held').replace('%', who); // the agent put the call on hold
    else if (s === 'talking' && c.held) m = t('talking').replace('%', who);
    c.held = s === 'talking' && !!j.held;
    if (s === 'talking' && c.state !== s) {
      m = t('talking').replace('%', who);
      at = Date.now();
      clearInterval(clock);
      clock = setInterval(function () { // mm:ss
        var n = Math.floor((Date.now() - at) / 1000), mm = Math.floor(n / 60);
        ui.timer.textContent = (mm < 10 ? '0' : '') + mm + ':' + ('0' + n % 60).slice(-2);
      }, 1000);
      ui.timer.textContent = '00:00';
    }
    if (m !== c.msg && (c.msg = m) && !c.lost) say(m); // while reconnecting, said once back
    setState(c, s);
  }
  // Muting disables the microphone's track: the agent hears silence, the
  // call and its timer go on.
  function mute(c, on) {
    if (!c || !c.mic) return;
    c.muted = on;
    c.mic.getAudioTracks().forEach(function (k) { k.enabled = !on; });
    ui.mute.textContent = t(on ? 'unmute' : 'mute');
    attr(ui.mute, 'aria-pressed', String(on));
    root.dataset.muted = String(on);
    say(t(on ? 'muted' : 'unmuted'));
  }
  // meter shows the microphone's level (RMS of the last 50 ms, every 100
  // ms), so the visitor sees it works, and that muting silences it.
  function meter(c) {
    var A = window.AudioContext || window.webkitAudioContext;
    if (!A) return;
    try {
      var ac = c.ac = new A(), an = ac.createAnalyser(), buf = new Float32Array(an.fftSize = 512);
      ac.createMediaStreamSource(c.mic).connect(an);
      c.meter = setInterval(function () {
        an.getFloatTimeDomainData(buf);
        var sum = 0;
        for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
        ui.level.value = Math.min(1, Math.sqrt(sum / buf.length) * 4);
      }, 100);
    } catch (x) {}
  }
  // devices lists the microphones and, where the browser can route audio
  // (setSinkId), the speakers, once the microphone is allowed and labels
  // are known; the microphone in use is selected.
  function devices(c) {
    var md = navigator.mediaDevices, used = c.mic.getAudioTracks()[0].getSettings().deviceId;
    if (!md.enumerateDevices) return;
    md.enumerateDevices().then(function (ds) {
      [['mic', 'audioinput', used], ['spk', 'audiooutput', ui.audio.sinkId]].forEach(function (x) {
        var sel = ui[x[0]];
        sel.textContent = '';
        if (x[1] === 'audiooutput' && !ui.audio.setSinkId) return;
        ds.filter(function (d) { return d.kind === x[1]; }).forEach(function (d, i) {
          var o = el('option', sel, '', d.label || t(x[0] === 'mic' ? 'micSel' : 'spkSel') + ' ' + (i + 1));
          o.value = d.deviceId;
          o.selected = d.deviceId === x[2];
        });
      });
      if (c === cur) setState(c, c.state, c.reason); // shows the choices while talking
    }).catch(function () {});
  }
  // pickMic moves the call to the microphone chosen: the new track replaces
  // the old one on the connection, keeps the mute, and feeds the meter.
  function pickMic() {
    var c = cur, id = ui.mic.value;
    if (!active() || !c.sender) return;
    navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: id } } }).then(function (mic) {
      var track = mic.getAudioTracks()[0], old = c.mic;
      if (c !== cur || !active()) return track.stop(); // the call ended meanwhile
      track.enabled = !c.muted;
      return c.sender.replaceTrack(track).then(function () {
        c.mic = mic;
        old.getTracks().forEach(function (k) { k.stop(); });
        clearInterval(c.meter);
        c.ac && c.ac.close().catch(function () {});
        meter(c);
      });
    }).catch(function () { say(t('nomic')); });
  }
  function stop(c) {
    clearInterval(clock);
    clearInterval(c.meter);
    c.ac && c.ac.close().catch(function () {});
    ui.level.value = 0;
    [c.es, c.pc].forEach(function (x) { x && x.close(); });
    c.mic && c.mic.getTracks().forEach(function (k) { k.stop(); });
    ui.audio.srcObject = null;
    delete root.dataset.connection;
  }
  function end(c, reason, msg) {
    if (c.state === 'ended') return;
    stop(c);
    setState(c, 'ended', reason);
    say(msg || t('r-' + reason) || t('r-error'));
  }
  function noData(c, reason, msg) { // no audio path: a call-back instead
    end(c, reason, msg);
    emit('callback', { group: c.group });
    emit('no-data-connection', { group: c.group, reason: reason });
    offer(c.group);
  }
  function del(c) { c.id && req('DELETE', '/v1/calls/' + encodeURIComponent(c.id)).catch(function () {}); }
  function hangup() {
    if (active()) { del(cur); end(cur, 'visitor-hangup'); }
  }
  function line(who, text, cls) { // as text, never markup
    var p = el('p', ui.log, cls);
    el('b', p, '', who + ': ');
    p.appendChild(d.createTextNode(text));
    ui.log.hidden = false;
    ui.log.scrollTop = ui.log.scrollHeight;
    return p;
  }
  function chatIn(c, data) { // the agent's text, or a receipt of ours (docs/calls.md)
    var m = null;
    try { m = JSON.parse(data); } catch (x) {}
    if (!m || typeof m.type !== 'string') return line(c.agent || t('agent'), data, ''); // a server without receipts
    if (m.type === 'message') return line(c.agent || t('agent'), String(m.text), '');
    var p = ui.log.querySelector('[data-chat-id="' + String(m.id).replace(/\W/g, '') + '"]');
    if (!p || (m.type !== 'delivered' && m.type !== 'failed')) return;
    p.dataset.state = m.type;
    if (m.type === 'failed') el('i', p, '', t('undelivered'));
  }
  function send() {
    var c = cur, dc = c && c.dc, v = ui.input.value.trim();
    if (v && !(dc && dc.readyState === 'open') && (chatting() || Q.opening)) return qSay(v);
    if (v && dc && dc.readyState === 'open') {
      c.sent = (c.sent || 0) + 1;
      dc.send(JSON.stringify({ id: 'm' + c.sent, text: v }));
      var p = line(t('you'), v, 'sbw-m');
      p.dataset.chatId = 'm' + c.sent;
      p.dataset.state = 'sending';
      ui.input.value = '';
    }
  }
  function callUI() {
    function mk(tag, parent, name, cls) { var e = el(tag, parent, cls); e.id = 'sbw-' + name; return e; }
    var p = ui.call = mk('div', form, 'call');
    attr(ui.timer = mk('span', p, 'timer', 'sbw-t'), 'role', 'timer');
    btn('hangup', p, hangup, 'sbw-h').id = 'sbw-hangup';
    (ui.mute = btn('mute', p, function () { mute(cur, !cur.muted); })).id = 'sbw-mute';
    (ui.keypad = btn('keypad', p, function () {
      attr(ui.keypad, 'aria-expanded', String(ui.keys.hidden));
      ui.keys.hidden = !ui.keys.hidden;
    })).id = 'sbw-keypad-toggle';
    attr(ui.keypad, 'aria-controls', 'sbw-keypad');
    attr(ui.keypad, 'aria-expanded', 'false');
    ui.level = mk('meter', p, 'level', 'sbw-v');
    Object.assign(ui.level, { min: 0, max: 1, value: 0 });
    attr(ui.level, 'aria-label', t('level'));
    // The visitor's microphone and speaker, where there is a choice.
    [['mic', 'micSel', pickMic], ['spk', 'spkSel', function () { ui.audio.setSinkId(ui.spk.value).catch(function () {}); }]]
      .forEach(function (x) {
        var sel = ui[x[0]] = mk('select', p, x[0], 'sbw-x');
        attr(sel, 'aria-label', t(x[1]));
        sel.onchange = x[2];
        sel.hidden = true;
      });
    attr(ui.keys = mk('div', p, 'keypad', 'sbw-k'), 'role', 'group');
    attr(ui.keys, 'aria-label', t('keypad'));
    '123456789*0#'.split('').forEach(function (k) {
      var b = el('button', ui.keys, '', k);
      b.type = 'button';
      b.dataset.digit = k;
      b.onclick = function () { // appended: insertDTMF replaces the tones still to play
        var s = cur && cur.sender && cur.sender.dtmf;
        try { s.insertDTMF(s.toneBuffer + k, 100, 70); ui.digits.textContent += k; } catch (x) {}
      };
    });
    ui.digits = mk('span', p, 'digits', 'sbw-d');
    attr(ui.log = mk('div', form, 'chat-log', 'sbw-log'), 'role', 'log');
    ui.chat = mk('div', form, 'chat');
    ui.input = mk('input', ui.chat, 'chat-input');
    Object.assign(ui.input, { type: 'text', maxLength: 1000, autocomplete: 'off', placeholder: t('msg') });
    attr(ui.input, 'aria-label', t('msg'));
    ui.input.onkeydown = function (e) { if (e.key === 'Enter') { e.preventDefault(); send(); } };
    ui.input.oninput = qTyping;
    btn('send', ui.chat, send).id = 'sbw-chat-send';
    (ui.endChat = btn('endChat', ui.chat, qLeave)).id = 'sbw-chat-end';
    ui.endChat.hidden = true;
    attr(ui.typing = mk('p', form, 'typing', 'sbw-m'), 'aria-live', 'polite');
    (ui.audio = mk('audio', panel, 'audio')).autoplay = true;
    root.dataset.callState = 'idle';
    p.hidden = ui.log.hidden = ui.chat.hidden = true;
    // Leaving the page mid-call asks first (the browser's own words); if the
    // visitor leaves, pagehide hangs up.
    addEventListener('beforeunload', function (e) { if (active()) { e.preventDefault(); e.returnValue = ''; } });
    addEventListener('pagehide', hangup);
  }

  // Chat before a call (docs/calls.md): Q {group, id, es, sent, state}, its state in the root's
  // data-chat-state; the first message starts it, Talk now takes it into a call with its agent.
  var Q = {};
  function chatting() { return /^(queued|open)$/.test(Q.state); }
  function qState(s, msg) {
    Q.state = root.dataset.chatState = s;
    if (msg) say(msg);
    if (s !== 'open') ui.typing.textContent = '';
    ui.endChat.hidden = !chatting();
    if (cur && active()) setState(cur, cur.state, cur.reason); else ui.chat.hidden = !chatting() && !Q.opening;
    buttons();
  }
  function qOpen(gid) { // the input first: the chat starts with the first message
    if (chatting()) return;
    Q = { group: gid, opening: true, sent: 0 };
    ui.log.textContent = '';
    ui.log.hidden = true;
    qState('idle');
    ui.input.focus();
  }
  function qSay(v) {
    var k = Q, n = 'c' + (++k.sent), p = line(t('you'), v, 'sbw-m');
    p.dataset.chatId = n;
    p.dataset.state = 'sending';
    ui.input.value = '';
    clearTimeout(k.idle);
    k.typing = 0;
    var path = k.id ? '/v1/chats/' + encodeURIComponent(k.id) + '/messages' : '/v1/chats';
    req('POST', path, k.id ? { id: n, text: v } : { group: k.group, id: n, text: v }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (k !== Q) return;
        if (r.status === 201) { k.id = j.chat_id; k.opening = false; qShow(j); return qFollow(k); }
        if (r.status === 202) return;
        var e = String(j.error || '').replace(/_/g, ' ');
        p.dataset.state = 'failed';
        el('i', p, '', t('undelivered'));
        if (!k.id) { k.opening = false; qState('idle'); }
        say((T.en[e] ? t(e) : t('unsent')).replace(/([^.])$/, '$1.'));
      });
    }).catch(function () { p.dataset.state = 'failed'; });
  }
  function qFollow(k) {
    var es = k.es = new EventSource(callServer + '/v1/chats/' + encodeURIComponent(k.id) + '/events', { withCredentials: true });
    es.addEventListener('chat', function (e) { k === Q && qShow(JSON.parse(e.data)); });
    es.addEventListener('line', function (e) { k === Q && chatIn(Q, e.data); });
    es.onerror = function () { if (es.readyState === 2 && k === Q && chatting()) qState('ended', t('r-error')); };
  }
  function qShow(j) {
    var s = j.state;
    Q.agent = j.agent || Q.agent;
    if (s === 'queued') return qState(s, t('chat-queued').replace('%', j.position || 1) + ' ' + mins(j.ewt_seconds || 0) + '.');
    if (s === 'open') {
      ui.typing.textContent = j.typing ? t('typing').replace('%', Q.agent) : '';
      return Q.state !== 'open' ? qState(s, t('chatWith').replace('%', Q.agent)) : 0;
    }
    Q.es && Q.es.close();
    qState('ended', j.reason === 'call' ? '' : t('c-' + j.reason) || t('c-visitor-left'));
  }
  // qTyping tells the agent the visitor types (again every 10 s), and stops 5 s after the last key.
  function qTyping() {
    var k = Q;
    if (!k.id || k.state !== 'open' || (cur && active())) return;
    var put = function (on) { req('PUT', '/v1/chats/' + encodeURIComponent(k.id) + '/typing', { active: on }).catch(function () {}); };
    if (Date.now() - (k.typing || 0) > 10000) { k.typing = Date.now(); put(true); }
    clearTimeout(k.idle);
    k.idle = setTimeout(function () { k.typing = 0; k === Q && k.state === 'open' && put(false); }, 5000);
  }
  function qLeave() {
    var k = Q;
    if (!chatting()) return;
    k.es && k.es.close();
    req('DELETE', '/v1/chats/' + encodeURIComponent(k.id)).catch(function () {});
    qState('ended', t('c-visitor-left'));
  }

  // Call me back: a PSTN call-back (docs/callbacks.md), K {group, id, phone, timer}, its state in the
  // root's data-callback-state; its id in sessionStorage, to follow it on the site's next pages.
  var K = {}, kui = {}, KEY = 'sbw-callback';
  function kBusy() { return /^(sending|queued|calling|talking)$/.test(root.dataset.callbackState); }
  function keep(id) { try { id ? sessionStorage.setItem(KEY, id) : sessionStorage.removeItem(KEY); } catch (x) {} }
  function kState(s, msg) {
    root.dataset.callbackState = s;
    kui.form.hidden = !/^(form|sending|error)$/.test(s);
    kui.send.disabled = s === 'sending';
    kui.cancel.hidden = !/^(queued|calling)$/.test(s);
    kui.cancel.disabled = false;
    kui.status.textContent = msg || '';
    buttons();
  }
  function offer(gid) {
    if (kBusy()) return;
    clearTimeout(K.timer);
    K = { group: gid };
    kui.phone.value = kui.name.value = kui.hint.textContent = ''; // nothing of an earlier attempt
    kui.phone.removeAttribute('aria-invalid');
    kState('form', t('offer'));
    kui.phone.focus();
    req('GET', '/v1/phone').then(function (r) { return r.json(); }).then(function (j) {
      kui.phone.placeholder = j.example ? t('eg').replace('%', j.example) : '';
    }).catch(function () {});
  }
  // kCheck asks the server, which reads numbers with libphonenumber as the
  // call-back will, what it makes of the number typed; the last answer wins.
  function kCheck() {
    var v = kui.phone.value.trim(), n = kui.checks = (kui.checks || 0) + 1;
    if (!v) { kui.hint.textContent = ''; return kui.phone.removeAttribute('aria-invalid'); }
    req('GET', '/v1/phone?number=' + encodeURIComponent(v)).then(function (r) { return r.json(); }).then(function (j) {
      if (n !== kui.checks || typeof j.valid !== 'boolean') return;
      attr(kui.phone, 'aria-invalid', String(!j.valid));
      kui.hint.textContent = j.valid ? t('phone ok').replace('%', j.e164) :
        (t(String(j.error).replace(/_/g, ' ')) || t('bad phone')) + '.';
    }).catch(function () {});
  }
  function kShow(j) {
    var s = j.state, p = K.phone = j.phone || K.phone, m = (t('cb-' + s) || s).replace('%', p);
    if (s === 'queued') m = m.replace('#', j.position || 1) + ' ' + mins(j.ewt_seconds || 0) + '.';
    kState(s, m);
    clearTimeout(K.timer);
    /^(queued|calling|talking)$/.test(s) ? K.timer = setTimeout(kPoll, 5000) : keep('');
  }
  function kPath(k) { return '/v1/callbacks/' + encodeURIComponent(k.id); }
  function kPoll() {
    var k = K;
    req('GET', kPath(k)).then(function (r) {
      if (k !== K) return;
      if (r.status >= 500) throw r;
      if (!r.ok) { keep(''); return kState('error', t('lost')); }
      return r.json().then(function (j) { k === K && kShow(j); });
    }).catch(function () { if (k === K) k.timer = setTimeout(kPoll, 5000); });
  }
  function kSend(e) {
    e.preventDefault();
    var k = K, body = { group: k.group, phone: kui.phone.value.trim() }, n = kui.name.value.trim();
    if (n) body.name = n;
    kState('sending', t('sending'));
    req('POST', '/v1/callbacks', body).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (k !== K) return;
        if (r.status !== 202) { // 400 bad_phone…, 429 rate_limited, 503 group_closed…: in the widget's words
          var code = String(j.error || '').replace(/_/g, ' '), m = (T.en[code] ? t(code) : t('unsent')).replace(/([^.])$/, '$1.');
          if (r.status === 503 && j.ewt_seconds) m += ' ' + mins(j.ewt_seconds) + '.';
          return kState('error', m + (r.status === 429 || r.status === 503 ? ' ' + t('later') : ''));
        }
        keep(k.id = j.callback_id);
        kShow(j);
      });
    }).catch(function () { k === K && kState('error', t('unsent')); });
  }
  function kCancel() { // 204; else (already talking…) show what it is
    var k = K;
    clearTimeout(k.timer);
    kui.cancel.disabled = true;
    req('DELETE', kPath(k)).then(function (r) {
      if (k !== K) return;
      if (!r.ok && r.status !== 404) return kPoll();
      keep('');
      kState('cancelled', t('cb-cancelled'));
    }, function () { k === K && kPoll(); });
  }
  function callbackUI() {
    var box = el('div', panel), f = kui.form = el('form', box, 'sbw-f'), id;
    f.id = 'sbw-cb-form';
    f.onsubmit = kSend;
    ['phone', 'name'].forEach(function (k) {
      var i = kui[k] = el('input', el('label', f, '', t(k)));
      Object.assign(i, { id: 'sbw-cb-' + k, name: k, type: k === 'phone' ? 'tel' : 'text', maxLength: k === 'phone' ? 32 : 64,
        autocomplete: k === 'phone' ? 'tel' : 'name', required: k === 'phone' });
    });
    attr(kui.hint = el('p', f, 'sbw-m'), 'aria-live', 'polite');
    kui.hint.id = 'sbw-cb-hint';
    attr(kui.phone, 'aria-describedby', 'sbw-cb-hint sbw-cb-consent');
    kui.phone.oninput = function () { clearTimeout(kui.typing); kui.typing = setTimeout(kCheck, 300); };
    el('p', f, 'sbw-m', t('consent')).id = 'sbw-cb-consent';
    (kui.send = btn('send', f)).type = 'submit';
    kui.send.id = 'sbw-cb-send';
    btn('close', f, function () { kState('idle'); });
    attr(kui.status = el('p', box, 'sbw-c'), 'role', 'status');
    kui.status.id = 'sbw-cb-status';
    (kui.cancel = btn('cancel', box, kCancel)).id = 'sbw-cb-cancel';
    kState('idle');
    try { id = sessionStorage.getItem(KEY); } catch (x) {}
    if (id) { K = { id: id }; kPoll(); }
  }

  // Availability: the event stream, else polling with If-None-Match. Poll
  // answers and stream events can cross: each carries its snapshot's id
  // (a decimal beyond 2^53), and only a newer snapshot than the one drawn
  // is drawn.
  var etag = '', every = 2000, timer, polling = true, drawn = '';
  function newer(id) {
    return !id || !drawn || id.length > drawn.length || (id.length === drawn.length && id > drawn);
  }
  function draw(j, id) {
    if (!newer(id)) return;
    if (id) drawn = id;
    render(j);
  }
  function poll() {
    clearTimeout(timer);
    fetch(server + '/v1/availability', { headers: etag ? { 'If-None-Match': etag } : {} }).then(function (r) {
      if (r.status === 304) return;
      if (!r.ok) throw r;
      etag = r.headers.get('ETag') || '';
      return r.json().then(function (j) {
        every = Math.max(1, j.refresh_interval_seconds || 0) * 1000;
        draw(j, j.snapshot);
      });
    }).catch(function () { if (!groups.length) say(t('failed')); }).then(function () {
      if (polling) timer = setTimeout(poll, d.hidden ? 5 * every : every);
    });
  }
  // The stream replaces polling while it is open. The browser reconnects a
  // dropped one by itself (with Last-Event-ID); one it gave up on (an error
  // status) hands back to polling, and is tried again a minute later.
  function stream() {
    var es = new EventSource(server + '/v1/availability/stream');
    es.addEventListener('availability', function (e) {
      polling = false;
      clearTimeout(timer);
      try { draw(JSON.parse(e.data), e.lastEventId); } catch (x) {}
    });
    es.onerror = function () {
      if (es.readyState !== 2) return;
      if (!polling) { polling = true; poll(); }
      setTimeout(stream, 60000);
    };
  }

  // The launcher opens and closes the panel (Escape too), and the page's
  // next pages open it as it was left.
  var OPEN = 'sbw-open';
  function show(on, focus) {
    panel.hidden = !on;
    attr(launch, 'aria-expanded', String(on));
    root.dataset.open = String(on);
    try { on ? sessionStorage.setItem(OPEN, '1') : sessionStorage.removeItem(OPEN); } catch (x) {}
    if (focus) (on ? panel.querySelector('input:checked') || panel.querySelector('input,button:enabled') : launch).focus();
  }
  function launcher(sr) {
    var open = false;
    launch = el('button', sr, 'sbw-launch');
    Object.assign(launch, { type: 'button', id: 'sbw-launch', onclick: function () { show(panel.hidden, true); } });
    attr(launch, 'aria-controls', 'sbw-panel');
    if (ds.logo) attr(el('img', launch), 'alt', '').src = ds.logo;
    dot = el('span', launch, 'sbw-s');
    el('span', launch, '', ds.text || t('title'));
    lstat = el('span', launch, 'sbw-vh');
    panel.addEventListener('keydown', function (e) { if (e.key === 'Escape') show(false, true); });
    try { open = sessionStorage.getItem(OPEN) === '1'; } catch (x) {}
    show(open, false);
  }

  function start() {
    var sr, inline = ds.mode ? ds.mode === 'inline' : !!d.getElementById(ID);
    root = d.getElementById(ID);
    if (!root) { // inline: after the script, else (or a launcher) at the end of the body
      root = el('div');
      root.id = ID;
      var p = script.parentNode;
      inline && p && p !== d.head && p.isConnected ? p.insertBefore(root, script.nextSibling) : d.body.appendChild(root);
    }
    if (root.shadowRoot) return; // loaded twice
    sr = root.attachShadow({ mode: 'open' });
    root.dataset.mode = inline ? 'inline' : 'launcher';
    if (ds.position) root.dataset.position = ds.position;
    if (ds.color) root.style.setProperty('--sbw-accent', ds.color);
    el('style', sr, '', CSS);
    panel = el('div', sr, 'sbw');
    panel.id = 'sbw-panel';
    attr(panel, 'role', inline ? 'region' : 'dialog');
    attr(panel, 'aria-label', t('title'));
    if (!inline) launcher(sr);
    form = el('form', panel);
    form.onsubmit = function (e) { e.preventDefault(); };
    var fs = el('fieldset', form);
    el('legend', fs, '', t('title'));
    list = el('div', fs);
    talk = btn('talk', form, function () { emit('talk', { group: chosen }); dial(chosen); });
    chatB = btn('chat', form, function () { emit('chat', { group: chosen }); qOpen(chosen); });
    cb = btn('callback', form, function () { emit('callback', { group: chosen }); offer(chosen); });
    talk.disabled = chatB.disabled = cb.disabled = true;
    live = el('p', form, 'sbw-l', t('loading'));
    attr(live, 'role', 'status');
    attr(live, 'aria-live', 'polite');
    callUI();
    callbackUI();

    poll();
    if (window.EventSource) stream();
    // the visitor's last choice (signed cookie)
    req('GET', '/v1/context').then(function (r) { return r.ok ? r.json() : {}; }).then(function (j) {
      var g = j.context && j.context.group;
      if (g && !picked && (!groups.length || group(g))) { chosen = g; buttons(); }
    }).catch(function () {});
  }
  // async: the container may not be parsed yet
  d.getElementById(ID) || d.readyState !== 'loading' ? start() : d.addEventListener('DOMContentLoaded', start);
})();
