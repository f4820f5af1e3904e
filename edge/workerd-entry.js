// workerd / Cloudflare Workers entry for the release hook: workerd imports a .wasm module as a
// compiled WebAssembly.Module, which initSync takes as is.
import { initSync } from "../pkg/pypublish.js";
import module from "../pkg/pypublish_bg.wasm";
import hook from "./hook.js";

initSync({ module });

export default hook;
