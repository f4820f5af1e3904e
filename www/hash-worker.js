// Inspects a dropped File (metadata and the three digests) off the page's main thread, so the
// page stays responsive and its heap stays small while a large wheel is read. The package reads
// the File through one reused buffer (a BYOB reader over file.stream()); a File is an immutable
// snapshot, so the page hands these digests to publish() and the file is hashed once.
import init, { inspect } from "./pkg/pypublish.js";

const ready = init();
// Progress about every 4 MiB and at the end: enough for a bar, few messages.
const STEP = 4 << 20;

self.onmessage = async ({ data: { id, file } }) => {
  try {
    await ready;
    let last = -STEP;
    const onProgress = ({ done, total }) => {
      if (done - last < STEP && done !== total) return;
      last = done;
      self.postMessage({ id, progress: { done, total } });
    };
    self.postMessage({ id, info: await inspect(file, { onProgress }) });
  } catch (e) {
    // Errors lose their own fields in postMessage: send the ones the page shows.
    self.postMessage({ id, error: { message: String(e?.message ?? e), kind: e?.kind, hint: e?.hint } });
  }
};
