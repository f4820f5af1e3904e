"""Differential runs for src/checks/rst.rs: writes generated or mutated READMEs into a folder
for the oracle test to compare with readme_renderer.

    .venv/bin/python tests/tools/rst_fuzz.py generate /tmp/rst-fuzz 1500 7   # from snippets
    .venv/bin/python tests/tools/rst_fuzz.py mutate   /tmp/rst-fuzz 1500 7   # corpus, mutated
    RST_ORACLE_DIR=/tmp/rst-fuzz RST_ORACLE_LINES=1 cargo test --test rst_oracle -- --nocapture

Deterministic for a seed. Disagreements found this way became fixes and crafted READMEs.
"""

import glob
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fixtures", "readmes")
words = ['alpha', 'beta', 'gamma', 'delta', 'the', 'a', 'and', 'see', 'foo_bar', 'x', 'CamelCase', 'v1.2', '2*3', '(*)', '"*"', 'e.g.', 'https://example.com/a', 'user@example.com', '__init__', 'a_b_', 'snake_case', '::', '--', '|x|', '...', 'C++', '[1]', '<tag>', 'end.', 'über', '日本語', '🚀']
inl = ['*emph*', '**strong**', '``lit``', '`interp`', ':code:`x`', ':func:`y`', '`link <https://e.com>`_', '`link2 <https://f.com>`__', 'name_', 'anon__', '`Phrase ref`_', '|sub|', '|sub|_', '[#]_', '[1]_', '[*]_', '[CIT]_', '_`inline target`', '*unclosed', '``unclosed', '`unclosed', '**unclosed', ':sup:`2`', ':PEP:`8`', ':rfc:`2616`', '`x`:title:', '\\*escaped\\*', '*a*b', 'a*b*', '* spaced *', '`a <b>`_', '`<https://g.com>`_', '`text <alias_>`_']
def sentence():
    return ' '.join(random.choice(words + inl if random.random() < 0.3 else words) for _ in range(random.randint(1, 10)))
def para(ind=''):
    return '\n'.join(ind + sentence() for _ in range(random.randint(1, 3)))
adorn = '=-~^"`#*+'
def title():
    t = sentence()[:30].strip() or 'Title'
    c = random.choice(adorn)
    w = len(t) + random.choice([0, 0, 0, 2, -1, -3, 5])
    u = c * max(w, 1)
    if random.random() < 0.2:
        return f'{u}\n{t}\n{u}'
    if random.random() < 0.05:
        return f'{u}\n{t}\n{random.choice(adorn) * max(w,1)}'
    return f'{t}\n{u}'
def block(depth=0):
    r = random.random()
    ind = ''
    if r < 0.2: return para()
    if r < 0.3 and depth == 0: return title()
    if r < 0.4:
        b = random.choice('-*+')
        items = []
        for _ in range(random.randint(1, 3)):
            items.append(f'{b} {sentence()}' + ('\n  ' + sentence() if random.random() < 0.3 else ''))
            if random.random() < 0.3: items.append('')
        return '\n'.join(items)
    if r < 0.47:
        items = []
        for k in range(random.randint(1, 3)):
            n = random.choice([k + 1, k + 1, '#', chr(97 + k), 'i', 'A'])
            items.append(f'{n}{random.choice([".", ")"])} {sentence()}')
        return '\n'.join(items)
    if r < 0.52: return f'{sentence()}::\n\n    code here\n    more code'
    if r < 0.55: return f'{sentence()}::\n\n{sentence()}'
    if r < 0.6: return '    ' + sentence() + ('\n\n    -- Author' if random.random() < 0.3 else '')
    if r < 0.64: return f'Term {random.choice(words)}\n    Definition {sentence()}'
    if r < 0.67: return f':{random.choice(["Author", "Version", "field", "Date"])}: {sentence()}'
    if r < 0.7: return random.choice(['.. _target: https://x.org/', '.. _other: https://y.org/', '.. __: https://anon.org/', '__ https://anon2.org/', '.. _CIT: x', '.. [1] note', '.. [#] auto', '.. [*] sym', '.. [CIT] citation', '.. _`Phrase ref`: https://p/', '.. _name: target_', '.. |sub| image:: https://img/x.png', '.. |sub| replace:: text', '.. _alias_: https://alias/'])
    if r < 0.78:
        d = random.choice(['note', 'warning', 'image', 'code-block', 'code', 'raw', 'include', 'contents', 'figure', 'unknownthing', 'admonition', 'topic', 'math', 'container', 'sidebar', 'rubric', 'replace', 'tip', 'csv-table', 'list-table', 'table', 'class', 'role', 'default-role'])
        arg = random.choice(['', ' python', ' https://img/x.png', ' Title here', ' html'])
        opts = random.choice(['', '\n   :alt: Alt', '\n   :target: https://t/', '\n   :align: center', '\n   :bogus: 1', '\n   :width: 100px', '\n   :local:', '\n   :depth: 2', '\n   :target: target_'])
        body = random.choice(['', '\n\n   ' + sentence(), '\n\n   print(1)\n   x = 2', '\n   ' + sentence()])
        return f'.. {d}::{arg}{opts}{body}'
    if r < 0.8: return '.. ' + sentence() + '\n   comment more'
    if r < 0.83: return random.choice(['----------', '****', '--', '======'])
    if r < 0.86: return '+-----+-----+\n| a   | b   |\n+=====+=====+\n| c   | d   |\n+-----+-----+' if random.random() < 0.7 else '+-----+-----+\n| a   | b   |\n+-----+\n| c   | d   |\n+-----+-----+'
    if r < 0.89: return '=====  =====\ncol a  col b\n=====  =====\n1      2\n=====  =====' if random.random() < 0.7 else '=====  =====\ncol a  col b\n1      2 3 4\n=====  ====='
    if r < 0.91: return '>>> print(1)\n1'
    if r < 0.93: return '| line one\n| line two\n   continued'
    if r < 0.95: return '-a  option a\n--bee=X  option b'
    return para()

def generate(out, n):
    for k in range(n):
        blocks = [block() for _ in range(random.randint(1, 8))]
        seps = [random.choice(["\n\n", "\n\n", "\n\n", "\n", "\n\n\n"]) for _ in blocks]
        lines = "".join(b + s for b, s in zip(blocks, seps)).split("\n")
        for _ in range(random.randint(0, 2)):
            if not lines:
                break
            i = random.randrange(len(lines))
            m = random.random()
            if m < 0.3:
                lines[i] = "   " + lines[i]
            elif m < 0.5:
                del lines[i]
            elif m < 0.7:
                lines[i] = lines[i][: random.randint(0, len(lines[i]))]
            else:
                lines.insert(i, "")
        with open(os.path.join(out, f"g{k:05d}.rst"), "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines))


INSERTS = ["*", "**", "`", "``", "_", "|", "::", ":", "[1]_", "x_", "`a`_", "  ", "\\", "..", "-- ", "#", ">>>", "| ", "- ", "1. ", "=", ""]


def mutate(out, n):
    src = [open(f, encoding="utf-8", newline="").read() for f in sorted(glob.glob(os.path.join(CORPUS, "*.rst")))]
    for k in range(n):
        lines = random.choice(src).split("\n")
        for _ in range(random.randint(1, 3)):
            if not lines:
                break
            i = random.randrange(len(lines))
            m = random.random()
            if m < 0.15:
                lines[i] = "  " + lines[i]
            elif m < 0.3:
                lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
            elif m < 0.4:
                del lines[i]
            elif m < 0.5:
                lines.insert(i, lines[i])
            elif m < 0.6:
                lines.insert(i, "")
            elif m < 0.7:
                p = random.randint(0, len(lines[i]))
                lines[i] = lines[i][:p] + random.choice(INSERTS) + lines[i][p:]
            elif m < 0.8:
                p = random.randint(0, len(lines[i]))
                lines[i] = lines[i][:p] + lines[i][p + 1:]
            elif m < 0.9 and i + 1 < len(lines):
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
            else:
                line = lines[i]
                if line and len(set(line.strip())) == 1:
                    lines[i] = line[:-2] if random.random() < 0.5 else line + line[0] * 2
        with open(os.path.join(out, f"m{k:05d}.rst"), "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines))


def main(args):
    mode, out, n, seed = args[0], args[1], int(args[2]), int(args[3])
    random.seed(seed)
    os.makedirs(out, exist_ok=True)
    for f in glob.glob(os.path.join(out, "*.rst")):
        os.remove(f)
    (generate if mode == "generate" else mutate)(out, n)


if __name__ == "__main__":
    main(sys.argv[1:])
