// Development and test entry for the release hook in workerd: the same hook, with the
// PYPUBLISH_DEV_* settings honoured (plain HTTP, private addresses, a stand-in for
// api.github.com). Never deploy it: edge/workerd-entry.js is the production entry.
import { env } from "cloudflare:workers";
import { initSync } from "../pkg/pypublish.js";
import module from "../pkg/pypublish_bg.wasm";
import { checkAtStartup, handle } from "./hook.js";

initSync({ module });
checkAtStartup(env, { dev: true });

export default { fetch: (request, env) => handle(request, env, { dev: true }) };
