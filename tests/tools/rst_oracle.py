"""The oracle for src/checks/rst.rs: renders each file with readme_renderer (what PyPI renders
descriptions with) and prints one JSON line per file:
    {"file": name, "renders": bool, "messages": [docutils' warnings]}
Usage: .venv/bin/python tests/tools/rst_oracle.py FILE...   (or a directory)
tests/rst_oracle.rs runs it over tests/fixtures/readmes/ and compares verdicts.
"""

import io
import json
import os
import sys

import readme_renderer
import readme_renderer.rst


def verdict(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    stream = io.StringIO()
    rendered = readme_renderer.rst.render(text, stream=stream)
    return {
        "file": os.path.basename(path),
        "renders": rendered is not None,
        "messages": [m for m in stream.getvalue().splitlines() if m.startswith("<string>:")],
    }


def main(args):
    paths = []
    for a in args:
        if os.path.isdir(a):
            paths += sorted(os.path.join(a, n) for n in os.listdir(a) if n.endswith(".rst"))
        else:
            paths.append(a)
    print(json.dumps({"readme_renderer": readme_renderer.__version__ if hasattr(readme_renderer, "__version__") else "?"}))
    for p in paths:
        print(json.dumps(verdict(p)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
