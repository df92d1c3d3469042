// The page's worker: runs the validator (WebAssembly, with wasm-bindgen's glue above this
// script) on one file at a time. A reader that panics aborts the WebAssembly; the page then
// replaces this worker and asks the fresh one for the finding.
'use strict';

let panicMessage = null;

// Called by the validator's panic hook just before a panic aborts it.
self.bcfReaderPanicked = (message) => {
  panicMessage = message;
};

self.onmessage = (event) => {
  const m = event.data;
  try {
    if (m.type === 'init') {
      wasm_bindgen.initSync({ module: m.module });
      const info = JSON.parse(wasm_bindgen.init(JSON.stringify(m.config)));
      self.postMessage({ type: 'ready', info });
    } else if (m.type === 'check') {
      panicMessage = null;
      const answer = wasm_bindgen.check(m.name, m.size, m.bytes === null ? undefined : new Uint8Array(m.bytes));
      self.postMessage({ type: 'answer', answer: JSON.parse(answer) });
    } else if (m.type === 'failed') {
      const answer = wasm_bindgen.failed(m.name, m.cause, m.detail === null ? undefined : m.detail);
      self.postMessage({ type: 'answer', answer: JSON.parse(answer) });
    }
  } catch (error) {
    self.postMessage(failure(m, error));
  }
};

// What stopped a check. A trap after a panic is a reader's failure; a trap without one is an
// allocation the memory limit refused; the engine's own stack limit is a reader's failure too.
function failure(m, error) {
  if (m.type === 'check' && error instanceof WebAssembly.RuntimeError) {
    const cause = panicMessage !== null ? 'reader' : 'memory';
    return { type: 'crashed', cause, detail: panicMessage, error: String(error) };
  }
  if (m.type === 'check' && error instanceof RangeError) {
    return { type: 'crashed', cause: 'reader', detail: String(error), error: String(error) };
  }
  return { type: 'broken', error: String(error) };
}
