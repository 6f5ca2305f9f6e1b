// Reading page: rate 1-5 by click or keys, optional real/synthetic + confidence, autosave.
//
// Every change is queued in localStorage before it is sent, with a request id; the server applies
// a request id once, so a retry after a lost response or a restarted server is harmless, and a
// reader who closes the tab mid-save has the answer sent on the next page load.
(function () {
  'use strict';

  const root = document.getElementById('vtt-read');
  if (!root) return;
  const item = JSON.parse(document.getElementById('vtt-item').textContent);
  const preview = root.dataset.preview === '1';
  const saveUrl = root.dataset.saveUrl;
  const itemUrl = root.dataset.itemUrl;
  const finishUrl = root.dataset.finishUrl;
  const queueKey = `vtt-queue-${root.dataset.assignment || 'preview'}`;
  const saveState = document.getElementById('vtt-save');
  const errorBox = document.getElementById('vtt-error');

  const state = {
    score: item.rating.score,
    forced_choice: item.rating.forced_choice || '',
    confidence: item.rating.confidence,
  };

  // --- time on item: active (visible) milliseconds not yet sent -----------------------------------
  let activeSince = document.visibilityState === 'visible' ? performance.now() : null;
  let unsentMs = 0;
  function collectTime() {
    if (activeSince !== null) {
      const now = performance.now();
      unsentMs += now - activeSince;
      activeSince = now;
    }
    const ms = Math.round(unsentMs);
    unsentMs -= ms;
    return ms;
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') activeSince = performance.now();
    else if (activeSince !== null) {
      unsentMs += performance.now() - activeSince;
      activeSince = null;
    }
  });

  // --- persistent queue ------------------------------------------------------------------------------
  function readQueue() {
    try {
      return JSON.parse(localStorage.getItem(queueKey) || '[]');
    } catch (e) {
      return [];
    }
  }
  function writeQueue(queue) {
    try {
      localStorage.setItem(queueKey, JSON.stringify(queue));
    } catch (e) {
      /* private mode: the in-flight request still carries the answer */
    }
  }
  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : '';
  }
  function setSaveState(kind, text) {
    saveState.dataset.state = kind;
    saveState.textContent = text;
  }
  function showError(text) {
    errorBox.hidden = !text;
    errorBox.textContent = text || '';
  }

  let flushing = null;
  let retryTimer = null;
  function flush() {
    if (flushing) return flushing;
    flushing = (async () => {
      let queue = readQueue();
      while (queue.length) {
        const entry = queue[0];
        setSaveState('saving', 'Saving…');
        let response;
        try {
          response = await fetch(entry.url, {
            method: 'PUT',
            credentials: 'same-origin',
            keepalive: true,
            headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
            body: JSON.stringify(entry.body),
          });
        } catch (e) {
          setSaveState('offline', 'Not saved yet — retrying…');
          scheduleRetry();
          return false;
        }
        if (response.status >= 500 || response.status === 429) {
          setSaveState('offline', 'Server busy — retrying…');
          scheduleRetry();
          return false;
        }
        if (!response.ok) {
          // A 4xx will not succeed on retry: drop it and say why.
          let detail = `Not saved (${response.status})`;
          try {
            detail = (await response.json()).detail || detail;
          } catch (e) {
            /* not JSON */
          }
          showError(detail);
        }
        queue = readQueue();
        queue = queue.filter((q) => q.body.request_id !== entry.body.request_id);
        writeQueue(queue);
      }
      setSaveState('saved', 'All answers saved');
      return true;
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  }
  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      flush();
    }, 2000);
  }
  function enqueue(fields) {
    if (preview) return Promise.resolve(true);
    const body = { request_id: requestId(), client_ms_delta: collectTime(), ...fields };
    const queue = readQueue();
    queue.push({ url: saveUrl, body });
    writeQueue(queue);
    showError('');
    return flush();
  }

  // --- answers ---------------------------------------------------------------------------------------
  function complete() {
    if (!state.score) return false;
    return !item.forced_choice_enabled || (state.forced_choice && state.confidence);
  }
  function render() {
    document.querySelectorAll('.vtt-score').forEach((b) => {
      const on = Number(b.dataset.score) === state.score;
      b.classList.toggle('selected', on);
      b.setAttribute('aria-checked', on ? 'true' : 'false');
    });
    document.querySelectorAll('.vtt-fc').forEach((b) => b.classList.toggle('selected', b.dataset.choice === state.forced_choice));
    document.querySelectorAll('.vtt-conf').forEach((b) => b.classList.toggle('selected', Number(b.dataset.confidence) === state.confidence));
    const next = document.getElementById('vtt-next');
    next.disabled = !preview && !complete();
    const answered = item.answered + (complete() && !wasComplete ? 1 : 0) - (!complete() && wasComplete ? 1 : 0);
    document.getElementById('vtt-answered').textContent = answered;
    document.getElementById('vtt-progress-fill').style.width = `${Math.round((100 * answered) / item.total)}%`;
  }
  const wasComplete = Boolean(item.rating.score) && (!item.forced_choice_enabled || (item.rating.forced_choice && item.rating.confidence));

  function setScore(score) {
    state.score = score;
    render();
    enqueue({ score });
  }
  function setChoice(choice) {
    if (!item.forced_choice_enabled) return;
    state.forced_choice = choice;
    render();
    enqueue({ forced_choice: choice });
  }
  function setConfidence(confidence) {
    if (!item.forced_choice_enabled) return;
    state.confidence = confidence;
    render();
    enqueue({ confidence });
  }

  // --- navigation --------------------------------------------------------------------------------------
  async function go(target) {
    if (!target) return;
    if (!preview) {
      const ok = await flush();
      if (!ok) {
        showError('Your last answer is not saved yet; check the connection. It will be sent automatically.');
        return;
      }
      const ms = collectTime();
      if (ms > 0) await enqueue({});
    }
    window.location.href = target;
  }
  function nextTarget() {
    if (item.is_last) return finishUrl;
    return itemUrl.replace('ITEM', item.next);
  }
  function goNext() {
    if (!preview && !complete()) {
      showError(item.forced_choice_enabled ? 'Give a score, real or synthetic, and your confidence first.' : 'Give a score first.');
      return;
    }
    go(nextTarget());
  }
  function goPrev() {
    if (item.prev) go(itemUrl.replace('ITEM', item.prev));
  }

  document.querySelectorAll('.vtt-score').forEach((b) => b.addEventListener('click', () => setScore(Number(b.dataset.score))));
  document.querySelectorAll('.vtt-fc').forEach((b) => b.addEventListener('click', () => setChoice(b.dataset.choice)));
  document.querySelectorAll('.vtt-conf').forEach((b) => b.addEventListener('click', () => setConfidence(Number(b.dataset.confidence))));
  document.getElementById('vtt-next').addEventListener('click', goNext);
  document.getElementById('vtt-prev').addEventListener('click', goPrev);

  // Capture phase on window: rating keys are handled here and kept from the viewer's own shortcuts
  // (its window presets stay on the toolbar buttons).
  window.addEventListener(
    'keydown',
    (event) => {
      const t = event.target;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const digit = /^(Digit|Numpad)([1-5])$/.exec(event.code);
      let handled = true;
      if (digit && event.shiftKey) setConfidence(Number(digit[2]));
      else if (digit) setScore(Number(digit[2]));
      else if (!event.shiftKey && (event.key === 'r' || event.key === 'R') && item.forced_choice_enabled) setChoice('real');
      else if (!event.shiftKey && (event.key === 's' || event.key === 'S') && item.forced_choice_enabled) setChoice('synthetic');
      else if (event.key === 'ArrowRight' || (event.key === 'Enter' && !(t && t.tagName === 'BUTTON'))) goNext();
      else if (event.key === 'ArrowLeft') goPrev();
      else handled = false;
      if (handled) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  // Time spent before leaving: one last time-only save (queued, so it survives a failed send).
  window.addEventListener('pagehide', () => {
    if (preview) return;
    const ms = collectTime();
    if (ms > 0) {
      const queue = readQueue();
      queue.push({ url: saveUrl, body: { request_id: requestId(), client_ms_delta: ms } });
      writeQueue(queue);
      flush();
    }
  });

  render();
  if (!preview) flush(); // answers left over from an earlier page (closed tab, lost connection)
  root.dataset.ready = '1';
})();
