// The annotator page: one self-contained HTML document (inline CSS and JS, no network assets). It
// calls the plugin's API with relative URLs, so it works under whatever prefix the plugin has.
// The API key is typed into the page's key field, kept in this tab's sessionStorage and sent as
// the `x-api-key` header; it never appears in a URL.
// Keys: 1 A clearly better, 2 A slightly better, 3 tie, 4 B slightly better, 5 B clearly better;
// q / w / e set confidence low / medium / high before choosing.

export const CONFIDENCE_LEVELS = { low: 0.34, medium: 0.67, high: 1 } as const;

// frame-ancestors 'none': no other site may frame the page and trick an annotator into clicking.
export const ANNOTATOR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's response headers: the CSP, the same framing ban for older browsers, no referrer, no caching. */
export const ANNOTATOR_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': ANNOTATOR_PAGE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

export function annotatorPage(title = 'alignkit annotation'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f5f5f2; color: #1d1d1b; }
  header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #1d3557; color: #fff; }
  header input { width: 22rem; }
  main { padding: 1rem; max-width: 1200px; margin: auto; }
  .prompt { background: #fff; border: 1px solid #ccc; border-radius: 6px; padding: .8rem; white-space: pre-wrap; }
  .responses { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin-top: 1rem; }
  .response { background: #fff; border: 1px solid #ccc; border-radius: 6px; padding: .8rem; white-space: pre-wrap; min-height: 6rem; }
  .response h3, .prompt h3 { margin: 0 0 .4rem; font-size: .9rem; color: #555; }
  .choices { display: flex; gap: .5rem; margin-top: 1rem; flex-wrap: wrap; }
  .choices button { flex: 1; padding: .7rem; font-size: 1rem; border-radius: 6px; border: 1px solid #1d3557; background: #fff; cursor: pointer; }
  .choices button:hover, .choices button:focus { background: #e3ecf7; }
  kbd { background: #eee; border: 1px solid #bbb; border-radius: 3px; padding: 0 .3rem; font-size: .8rem; }
  .confidence { margin-top: .8rem; display: flex; gap: 1rem; align-items: center; }
  #status { margin-top: 1rem; min-height: 1.4rem; color: #2a6f2a; }
  #status.error { color: #b00020; }
</style>
</head>
<body>
<header>
  <strong>alignkit annotation</strong>
  <label>API key <input id="key" type="password" autocomplete="off"></label>
  <button id="start">Start</button>
  <span id="who"></span>
</header>
<main>
  <section id="task" hidden>
    <div class="prompt"><h3>Prompt</h3><div id="prompt"></div></div>
    <div class="responses">
      <div class="response"><h3>Response A</h3><div id="responseA"></div></div>
      <div class="response"><h3>Response B</h3><div id="responseB"></div></div>
    </div>
    <div class="choices">
      <button data-scale="-2"><kbd>1</kbd> A is clearly better</button>
      <button data-scale="-1"><kbd>2</kbd> A is slightly better</button>
      <button data-scale="0"><kbd>3</kbd> Tie</button>
      <button data-scale="1"><kbd>4</kbd> B is slightly better</button>
      <button data-scale="2"><kbd>5</kbd> B is clearly better</button>
    </div>
    <div class="confidence">Confidence:
      <label><input type="radio" name="confidence" value="${CONFIDENCE_LEVELS.low}"> low <kbd>q</kbd></label>
      <label><input type="radio" name="confidence" value="${CONFIDENCE_LEVELS.medium}" checked> medium <kbd>w</kbd></label>
      <label><input type="radio" name="confidence" value="${CONFIDENCE_LEVELS.high}"> high <kbd>e</kbd></label>
    </div>
  </section>
  <p id="done" hidden>No pairs are waiting for you. Thank you!</p>
  <div id="status" role="status"></div>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { key: sessionStorage.getItem('alignkit-key') || '', pair: null, busy: false };
  $('key').value = state.key;
  const headers = () => ({ 'content-type': 'application/json', 'x-api-key': state.key });
  const say = (text, isError) => { $('status').textContent = text; $('status').className = isError ? 'error' : ''; };

  async function api(path, init) {
    const res = await fetch(path, { ...init, headers: headers() });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error || ('HTTP ' + res.status)), { status: res.status });
    return body;
  }

  async function loadNext() {
    const body = await api('next');
    state.pair = body.pair;
    $('who').textContent = body.annotator ? 'annotator: ' + body.annotator.name : '';
    $('task').hidden = !state.pair;
    $('done').hidden = !!state.pair;
    if (state.pair) {
      $('prompt').textContent = state.pair.prompt;
      $('responseA').textContent = state.pair.responseA;
      $('responseB').textContent = state.pair.responseB;
      document.body.dataset.pairId = state.pair.id;
    } else {
      delete document.body.dataset.pairId;
    }
  }

  async function choose(scale) {
    if (!state.pair || state.busy) return;
    state.busy = true;
    try {
      const confidence = Number(document.querySelector('input[name=confidence]:checked').value);
      const body = await api('labels', { method: 'POST', body: JSON.stringify({ pairId: state.pair.id, scale, confidence }) });
      say('Saved label #' + body.label.id + ' for pair ' + body.label.pairId);
      document.body.dataset.saved = String(Number(document.body.dataset.saved || 0) + 1);
      await loadNext();
    } catch (e) {
      say(e.message, true);
      // 403/409: the pair is no longer this annotator's to label (lease expired, quota filled, re-routed).
      if (e.status === 403 || e.status === 409) await loadNext().catch((e2) => say(e2.message, true));
    } finally {
      state.busy = false;
    }
  }

  async function start() {
    state.key = $('key').value.trim();
    sessionStorage.setItem('alignkit-key', state.key);
    try { await loadNext(); say(''); } catch (e) { say(e.message, true); }
    document.body.dataset.ready = '1';
  }

  document.querySelectorAll('.choices button').forEach((b) => b.addEventListener('click', () => choose(Number(b.dataset.scale))));
  $('start').addEventListener('click', start);
  $('key').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') start(); });
  const keyScale = { '1': -2, '2': -1, '3': 0, '4': 1, '5': 2 };
  const keyConfidence = { q: ${CONFIDENCE_LEVELS.low}, w: ${CONFIDENCE_LEVELS.medium}, e: ${CONFIDENCE_LEVELS.high} };
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement && ev.target.type !== 'radio') return;
    if (ev.key in keyScale) { ev.preventDefault(); choose(keyScale[ev.key]); }
    else if (ev.key in keyConfidence) {
      document.querySelector('input[name=confidence][value="' + keyConfidence[ev.key] + '"]').checked = true;
    }
  });
  if (state.key) start(); else document.body.dataset.ready = '1';
})();
</script>
</body>
</html>
`;
}
