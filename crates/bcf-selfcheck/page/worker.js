// The page's worker: runs the validator (plain WebAssembly: see crates/bcf-selfcheck/src/lib.rs
// for its interface) on one file at a time. A reader that panics aborts the WebAssembly; the
// page then replaces this worker and asks the fresh one for the finding.
'use strict';

let wasm = null;
let panicMessage = null;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The validator's memory as bytes (a fresh view: memory that grew has a new buffer).
const bytesAt = (ptr, len) => new Uint8Array(wasm.memory.buffer, ptr >>> 0, len >>> 0);

// Copies an argument into memory the validator gives; [pointer, length]. The call it is
// passed to takes the memory back.
function put(bytes) {
  const ptr = wasm.bcf_alloc(bytes.length) >>> 0;
  bytesAt(ptr, bytes.length).set(bytes);
  return [ptr, bytes.length];
}

// The answer of the call that returned `status` (0 the result, 1 an error message).
function answer(status) {
  const text = decoder.decode(bytesAt(wasm.bcf_answer_ptr(), wasm.bcf_answer_len()));
  if (status !== 0) throw new Error(text);
  return JSON.parse(text);
}

// What the validator imports: the panic report; and, as functions that refuse, the
// placeholders zip's random-number source (getrandom, for writing encrypted zips) links in
// and reading never calls.
function importsFor(module) {
  const imports = {
    // Called by the validator's panic hook just before a panic aborts it.
    bcf: { reader_panicked: (ptr, len) => { panicMessage = decoder.decode(bytesAt(ptr, len)); } },
  };
  for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
    if (from === 'bcf') continue;
    if (kind !== 'function') throw new Error(`the validator imports ${kind} ${from}.${name}`);
    imports[from] = imports[from] || {};
    imports[from][name] = () => { throw new Error(`the validator called ${from}.${name}, which the page does not provide`); };
  }
  return imports;
}

self.onmessage = (event) => {
  const m = event.data;
  try {
    if (m.type === 'init') {
      wasm = new WebAssembly.Instance(m.module, importsFor(m.module)).exports;
      const info = answer(wasm.bcf_init(...put(encoder.encode(JSON.stringify(m.config)))));
      self.postMessage({ type: 'ready', info });
    } else if (m.type === 'check') {
      panicMessage = null;
      const name = put(encoder.encode(m.name));
      const bytes = m.bytes === null ? [0, 0] : put(new Uint8Array(m.bytes));
      const status = wasm.bcf_check(...name, m.size, ...bytes, m.bytes === null ? 0 : 1);
      self.postMessage({ type: 'answer', answer: answer(status) });
    } else if (m.type === 'failed') {
      const detail = m.detail === null ? [0, 0] : put(encoder.encode(m.detail));
      const args = [...put(encoder.encode(m.name)), ...put(encoder.encode(m.cause)), ...detail];
      const status = wasm.bcf_failed(...args, m.detail === null ? 0 : 1);
      self.postMessage({ type: 'answer', answer: answer(status) });
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
