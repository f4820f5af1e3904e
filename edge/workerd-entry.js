// workerd / Cloudflare Workers entry for the release hook: workerd imports a .wasm module as a
// compiled WebAssembly.Module, which initSync takes as is. Production: PYPUBLISH_DEV_* settings
// are refused here (edge/workerd-dev-entry.js is the development entry).
import { env } from "cloudflare:workers";
import { initSync } from "../pkg/pypublish.js";
import module from "../pkg/pypublish_bg.wasm";
import { checkAtStartup, handle } from "./hook.js";

initSync({ module });
checkAtStartup(env);

export default { fetch: (request, env) => handle(request, env) };
