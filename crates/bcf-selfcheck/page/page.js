// The self-check page: an area picks or drops its return and sees whether the national run
// would accept it. The file is read here and checked by the validator in a Web Worker; nothing
// is sent anywhere (the page's Content Security Policy forbids every connection).
'use strict';
(() => {
  const byId = (id) => document.getElementById(id);
  const config = JSON.parse(byId('bcf-config').textContent);
  const workerUrl = URL.createObjectURL(new Blob([byId('bcf-worker').textContent], { type: 'text/javascript' }));

  // The validator, unpacked and compiled once; each worker instantiates it.
  const compiled = (async () => {
    const packed = Uint8Array.from(atob(byId('bcf-wasm').textContent.trim()), (c) => c.charCodeAt(0));
    const unpacked = new Blob([packed]).stream().pipeThrough(new DecompressionStream('gzip'));
    return WebAssembly.compile(await new Response(unpacked).arrayBuffer());
  })();

  let current = null;

  function startWorker() {
    const worker = new Worker(workerUrl);
    const ready = compiled.then((module) => new Promise((resolve, reject) => {
      worker.onmessage = (e) => (e.data.type === 'ready' ? resolve(e.data.info) : reject(new Error(e.data.error)));
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage({ type: 'init', module, config });
    }));
    return { worker, ready };
  }

  function retire() {
    if (current) current.worker.terminate();
    current = null;
  }

  // Sends one message to the worker; its reply, or a timeout after `limitMs` (if given).
  async function ask(message, transfer, limitMs) {
    if (!current) current = startWorker();
    const { worker } = current;
    await current.ready;
    return new Promise((resolve) => {
      const timer = limitMs ? setTimeout(() => resolve({ type: 'timeout' }), limitMs) : null;
      worker.onmessage = (e) => { clearTimeout(timer); resolve(e.data); };
      worker.onerror = (e) => {
        clearTimeout(timer);
        e.preventDefault();
        resolve({ type: 'crashed', cause: 'reader', detail: e.message || null });
      };
      worker.postMessage(message, transfer);
    });
  }

  // The first worker, started at once; what the validator says of itself.
  current = startWorker();
  const infoReady = current.ready;

  // Checks one file: `bytes` is an ArrayBuffer, or null for a file too large to read.
  async function checkFile(name, size, bytes) {
    const reply = await ask({ type: 'check', name, size, bytes }, bytes ? [bytes] : [], config.time_limit_ms);
    if (reply.type === 'answer') return reply.answer;
    if (reply.type === 'broken') throw new Error(reply.error);
    // The check did not finish: this worker is spent, and a fresh one gives the finding.
    retire();
    const cause = reply.type === 'timeout' ? 'time' : reply.cause;
    const second = await ask({ type: 'failed', name, cause, detail: reply.detail ?? null }, [], 0);
    if (second.type === 'answer') return second.answer;
    throw new Error(`the validator could not report on ${name} (${second.error || second.type})`);
  }

  // One file at a time, in the order asked.
  let queue = Promise.resolve();
  function enqueue(task) {
    const result = queue.then(task);
    queue = result.catch(() => {});
    return result;
  }

  async function bytesOf(file, info) {
    return file.size > info.max_file_bytes ? null : file.arrayBuffer();
  }

  // For scripts and tests: exactly what `bcf check --format json` gives for the file (one
  // entry of its `files`).
  window.bcfCheck = (bytes, fileName) => enqueue(async () => {
    const buffer = bytes instanceof ArrayBuffer ? bytes.slice(0) : new Uint8Array(bytes).slice().buffer;
    return (await checkFile(fileName, buffer.byteLength, buffer)).check;
  });

  // ---- What the person sees ----

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  };

  function showFindings(view) {
    const parts = [];
    for (const group of view.sheets) {
      parts.push(el('h3', {}, group.sheet === null ? 'The whole file' : `Sheet “${group.sheet}”`));
      const table = el('table', { class: 'findings' });
      table.append(el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Cell'), el('th', { scope: 'col' }, 'Kind'),
        el('th', { scope: 'col' }, 'What is wrong'), el('th', { scope: 'col' }, 'What to do'))));
      const rows = el('tbody');
      for (const f of group.findings) {
        rows.append(el('tr', { class: f.severity },
          el('td', { 'data-label': 'Cell' }, f.cell ?? '—'),
          el('td', { 'data-label': 'Kind' }, f.severity === 'error' ? 'Error' : 'Warning', el('span', { class: 'rule' }, f.rule)),
          el('td', { 'data-label': 'What is wrong' }, f.message),
          el('td', { 'data-label': 'What to do' }, f.what_to_do)));
      }
      table.append(rows);
      parts.push(table);
    }
    return parts;
  }

  function save(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function show(answer) {
    const { view, check } = answer;
    const result = byId('result');
    const base = check.file.replace(/\.[^.]*$/, '');
    const actions = el('p', { class: 'actions' });
    const button = (label, onClick) => {
      const b = el('button', { type: 'button' }, label);
      b.addEventListener('click', onClick);
      return b;
    };
    actions.append(
      button('Print', () => window.print()),
      button('Save as CSV', () => save(`${base} - bcf check.csv`, 'text/csv;charset=utf-8', answer.csv)),
      button('Save as JSON', () => save(`${base} - bcf check.json`, 'application/json', JSON.stringify({ files: [check] }, null, 2))));
    result.replaceChildren(
      el('div', { class: `verdict ${view.verdict}` }, el('h2', {}, view.title), el('p', {}, view.explanation)),
      el('p', { class: 'file' }, el('strong', {}, 'File: '), check.file),
      ...view.about.map((line) => el('p', { class: 'about' }, line)),
      ...(view.sheets.length ? showFindings(view) : [el('p', {}, 'No findings.')]),
      actions);
    result.hidden = false;
    result.focus();
  }

  async function onFile(file) {
    if (!file) return;
    document.body.dataset.state = 'checking';
    byId('status').textContent = `Checking “${file.name}” on this computer…`;
    try {
      const info = await infoReady;
      const bytes = await bytesOf(file, info);
      const answer = await enqueue(() => checkFile(file.name, file.size, bytes));
      show(answer);
      byId('status').textContent = `Checked “${file.name}”: ${answer.view.title}.`;
      document.body.dataset.state = 'done';
    } catch (error) {
      byId('status').textContent = `The page could not check “${file.name}”: ${error.message}`;
      document.body.dataset.state = 'error';
    }
  }

  const input = byId('file');
  input.addEventListener('change', () => {
    onFile(input.files[0]);
    input.value = '';
  });
  const zone = byId('drop');
  for (const type of ['dragenter', 'dragover']) {
    document.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add('over'); });
  }
  document.addEventListener('dragleave', (e) => { if (e.target === zone) zone.classList.remove('over'); });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    onFile(e.dataTransfer.files[0]);
  });

  infoReady.then((info) => {
    byId('templates').textContent = `The templates it knows: ${info.templates.join('; ')}.`;
    byId('allocations').textContent = info.allocations_held;
    byId('version').append(`; template schemas ${info.schemas.slice(0, 12)}`);
    const list = byId('not-checked');
    list.replaceChildren(...info.not_checked.map((line) => el('li', {}, line)));
    input.disabled = false;
    document.body.dataset.state = 'ready';
  }, (error) => {
    byId('status').textContent = `The page could not start its checker: ${error.message}`;
    document.body.dataset.state = 'error';
  });
})();
