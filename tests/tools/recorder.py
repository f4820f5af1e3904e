"""A recording upload endpoint for the parity tests.

Listens on 127.0.0.1 (port chosen by the OS, printed as the first stdout line), parses every
POST with the independent `multipart` package (not our code), appends one JSON line per
request to the log file given as argv[1], and answers 200 like a registry would. Requests
without Content-Length get 411, so a body we frame wrongly cannot pass unnoticed.
"""

import hashlib
import io
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import multipart

LOG = sys.argv[1]


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        length = self.headers.get("Content-Length")
        if length is None:
            self.send_response(411)
            self.end_headers()
            return
        body = self.rfile.read(int(length))
        ctype = self.headers.get("Content-Type", "")
        _, params = multipart.parse_options_header(ctype)
        entry = {"content_length": int(length), "body_length": len(body), "fields": [], "files": [], "order": []}
        try:
            parser = multipart.MultipartParser(io.BytesIO(body), params["boundary"], content_length=len(body), charset="utf-8", strict=True, part_limit=100000, memory_limit=1 << 34, spool_limit=1 << 34)
            for part in parser:
                entry["order"].append(part.name)
                if part.filename is not None:
                    raw = part.raw
                    entry["files"].append({
                        "name": part.name,
                        "filename": part.filename,
                        "content_type": part.content_type,
                        "sha256": hashlib.sha256(raw).hexdigest(),
                        "size": len(raw),
                    })
                else:
                    entry["fields"].append([part.name, part.value])
        except Exception as exc:  # recorded, so the test shows what broke
            entry["error"] = f"{type(exc).__name__}: {exc}"
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
        self.send_response(400 if "error" in entry else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
print(server.server_address[1], flush=True)
server.serve_forever()
