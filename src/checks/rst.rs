//! reStructuredText validation that agrees with PyPI's renderer (`readme_renderer`: docutils
//! with `halt_level=2`, `raw` and `include` disabled): a description renders only if docutils
//! reports nothing at WARNING level or above, and something is rendered.
//!
//! This is not a renderer: it follows docutils' block state machine (`parsers/rst/states.py`),
//! its inline recognition rules and the reference, substitution, footnote and transition
//! transforms far enough to find the same problems, with their line numbers. The oracle test
//! (`tests/rst_oracle.rs`) runs readme_renderer over a corpus and asserts equal verdicts.
//!
//! Bounded and linear: the input is capped at [`MAX_LEN`], nesting at [`MAX_DEPTH`] (each
//! nesting level copies at most its own lines), and the inline scanner never backtracks over
//! more than one text block.

use std::collections::{HashMap, HashSet};

use super::Finding;

/// Longest description checked (PyPI's own limit on a description is far above real ones).
pub const MAX_LEN: usize = 8 * 1024 * 1024;
/// Deepest nesting of block constructs followed (docutils itself fails with a Python
/// RecursionError a little above 100).
pub const MAX_DEPTH: usize = 60;

/// How bad a docutils system message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Warning = 2,
    Error = 3,
    Severe = 4,
}

/// Checks an RST description; every finding is blocking (PyPI refuses the upload). docutils'
/// INFO notes are not reported.
pub fn check(text: &str) -> Vec<Finding> {
    if text.len() > MAX_LEN {
        return vec![Finding::new(
            "rst.too-long",
            "description",
            None,
            format!("the description is {} bytes long; this tool checks descriptions up to {MAX_LEN} bytes", text.len()),
            true,
        )];
    }
    let lines = split_lines(text);
    let mut p = Parser::new();
    let ls: Vec<L<'_>> = lines.iter().enumerate().map(|(i, s)| L { t: s.as_str(), n: i as u32 + 1 }).collect();
    p.body(&ls, Ctx { titles: true, depth: 0, section_level: Some(0) });
    p.finish();
    let mut out: Vec<Finding> = p
        .msgs
        .into_iter()
        .filter(|m| m.level >= Level::Warning)
        .map(|m| Finding::new(m.code, "description", m.line, format!("{} ({})", m.text, level_name(m.level)), true))
        .collect();
    if out.is_empty() && !p.content {
        out.push(Finding::new(
            "rst.empty",
            "description",
            None,
            "the description renders to nothing (it is blank or only comments); PyPI refuses it: write some text or drop the description".into(),
            true,
        ));
    }
    out
}

/// Whether PyPI's renderer would render `text` as RST.
pub fn renders(text: &str) -> bool {
    check(text).is_empty()
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Warning => "WARNING",
        Level::Error => "ERROR",
        Level::Severe => "SEVERE",
    }
}

/// docutils' `string2lines`: `\v`/`\f` become spaces, Python's `splitlines`, tabs to 8,
/// trailing whitespace removed.
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut col = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(rstrip(&cur).to_string());
                cur.clear();
                col = 0;
            }
            '\t' => {
                let n = 8 - col % 8;
                cur.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\u{b}' | '\u{c}' => {
                cur.push(' ');
                col += 1;
            }
            _ => {
                cur.push(c);
                col += 1;
            }
        }
    }
    if !cur.is_empty() {
        out.push(rstrip(&cur).to_string());
    }
    out
}

fn is_py_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

fn strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// One line of a (possibly dedented) block, with its 1-based line number in the description.
#[derive(Clone, Copy, Debug)]
struct L<'a> {
    t: &'a str,
    n: u32,
}

#[derive(Clone, Copy)]
struct Ctx {
    /// Section titles (and transitions) allowed here: only at the top level.
    titles: bool,
    depth: usize,
    /// `Some(level)` at section level (for transitions and title levels).
    section_level: Option<usize>,
}

impl Ctx {
    fn nested(self) -> Ctx {
        Ctx { titles: false, depth: self.depth + 1, section_level: None }
    }
}

struct Msg {
    level: Level,
    code: &'static str,
    line: Option<u32>,
    text: String,
}

#[derive(Default)]
struct Target {
    explicit: usize,
    implicit: usize,
    /// The first explicit target's URI; `None` for internal or indirect ones.
    uri: Option<String>,
    /// Every explicit target of this name has that same URI.
    same_uri: bool,
    /// Indirect: refers to another name.
    alias: Option<String>,
}

/// What docutils' transition checks see of a section-level element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Elem {
    Transition(u32),
    Title,
    Other,
    /// Targets and substitution definitions, which transitions' position rules skip.
    Ignored,
}

struct Parser {
    msgs: Vec<Msg>,
    content: bool,
    title_styles: Vec<(char, char)>,
    section_level: usize,
    targets: HashMap<String, Target>,
    refs: Vec<(String, u32)>,
    anon_refs: usize,
    anon_targets: usize,
    auto_refs: Vec<u32>,
    auto_footnotes: usize,
    symbol_refs: Vec<u32>,
    symbol_footnotes: usize,
    subst_defs: HashSet<String>,
    subst_defs_lower: HashSet<String>,
    subst_refs: Vec<(String, u32)>,
    roles: HashSet<String>,
    /// The top-level element sequence, for the transitions transform.
    top: Vec<Elem>,
    /// Whether the top-level sequence may still hold a bibliographic field list.
    docinfo_open: bool,
}

const DIRECTIVES: &[&str] = &[
    "attention",
    "caution",
    "danger",
    "error",
    "hint",
    "important",
    "note",
    "tip",
    "warning",
    "admonition",
    "sidebar",
    "topic",
    "line-block",
    "parsed-literal",
    "code",
    "code-block",
    "sourcecode",
    "math",
    "rubric",
    "epigraph",
    "highlights",
    "pull-quote",
    "compound",
    "container",
    "table",
    "csv-table",
    "list-table",
    "image",
    "figure",
    "contents",
    "sectnum",
    "section-numbering",
    "header",
    "footer",
    "target-notes",
    "meta",
    "replace",
    "unicode",
    "date",
    "class",
    "role",
    "default-role",
    "title",
    "raw",
    "include",
    "restructuredtext-test-directive",
];

const ROLES: &[&str] = &[
    "abbreviation",
    "ab",
    "acronym",
    "ac",
    "code",
    "emphasis",
    "literal",
    "math",
    "pep-reference",
    "pep",
    "rfc-reference",
    "rfc",
    "strong",
    "subscript",
    "sub",
    "superscript",
    "sup",
    "title-reference",
    "title",
    "t",
];

impl Parser {
    fn new() -> Self {
        Parser {
            msgs: Vec::new(),
            content: false,
            title_styles: Vec::new(),
            section_level: 0,
            targets: HashMap::new(),
            refs: Vec::new(),
            anon_refs: 0,
            anon_targets: 0,
            auto_refs: Vec::new(),
            auto_footnotes: 0,
            symbol_refs: Vec::new(),
            symbol_footnotes: 0,
            subst_defs: HashSet::new(),
            subst_defs_lower: HashSet::new(),
            subst_refs: Vec::new(),
            roles: ROLES.iter().map(|r| r.to_string()).collect(),
            top: Vec::new(),
            docinfo_open: true,
        }
    }

    fn msg(&mut self, level: Level, code: &'static str, line: u32, text: impl Into<String>) {
        self.msgs.push(Msg { level, code, line: (line > 0).then_some(line), text: text.into() });
    }

    fn elem(&mut self, ctx: Ctx, e: Elem) {
        if ctx.section_level.is_some() {
            self.top.push(e);
        }
    }

    /// A body element was produced (for the empty-document check).
    fn produced(&mut self) {
        self.content = true;
    }

    // ---- Block level -------------------------------------------------------------------

    /// docutils' `Body` state over `lines`.
    fn body(&mut self, lines: &[L<'_>], ctx: Ctx) {
        if ctx.depth > MAX_DEPTH {
            let n = lines.first().map_or(0, |l| l.n);
            self.msg(Level::Severe, "rst.too-deep", n, "constructs are nested too deeply to be checked");
            return;
        }
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].t;
            if line.is_empty() {
                i += 1;
                continue;
            }
            if line.starts_with(' ') {
                i = self.block_quote(lines, i, ctx);
                continue;
            }
            i = self.body_line(lines, i, ctx);
        }
    }

    /// Dispatches a non-blank, non-indented line in the Body state; returns the next index.
    fn body_line(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        let line = lines[i].t;
        if let Some(end) = bullet(line) {
            return self.list(lines, i, ctx, ListKind::Bullet(line.chars().next().unwrap()), end);
        }
        if let Some(e) = enumerator(line) {
            if self.is_enum_item(lines, i, &e) {
                let end = e.end;
                return self.list(lines, i, ctx, ListKind::Enum(e), end);
            }
        }
        if let Some(end) = field_marker(line) {
            return self.field_list(lines, i, ctx, end);
        }
        if let Some(end) = option_marker(line) {
            let (block, _) = get_indented(lines, i, Indent::First(end), false);
            if strip_block(&block, Indent::First(end)).iter().any(|l| !l.t.is_empty()) {
                return self.option_list(lines, i, ctx);
            }
        }
        if line.starts_with(">>>") && (line.len() == 3 || line.as_bytes()[3] == b' ') {
            self.produced();
            self.elem(ctx, Elem::Other);
            self.docinfo_open = false;
            let mut j = i;
            while j < lines.len() && !lines[j].t.is_empty() {
                j += 1;
            }
            return j;
        }
        if line.starts_with('|') && (line.len() == 1 || line.as_bytes()[1] == b' ') {
            return self.line_block(lines, i, ctx);
        }
        if is_grid_top(line) {
            return self.grid_table(lines, i, ctx);
        }
        if is_simple_top(line) {
            return self.simple_table(lines, i, ctx);
        }
        if line.starts_with("..") && (line.len() == 2 || line.as_bytes()[2] == b' ') {
            return self.explicit(lines, i, ctx);
        }
        if line.starts_with("__") && (line.len() == 2 || line.as_bytes()[2] == b' ') {
            return self.explicit(lines, i, ctx);
        }
        if is_line(line) {
            if let Some(next) = self.line(lines, i, ctx) {
                return next;
            }
        }
        self.text(lines, i, ctx)
    }

    /// A punctuation line in the Body state: a transition or a section title's overline.
    /// `None` means "treat as text" (docutils' state correction).
    fn line(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> Option<usize> {
        let marker = strip(lines[i].t);
        let n = lines[i].n;
        if !ctx.titles {
            if marker == "::" || marker.chars().count() < 4 {
                return None;
            }
            self.msg(Level::Severe, "rst.unexpected-section", n, "Unexpected section title or transition.");
            return Some(i + 1);
        }
        let next = lines.get(i + 1);
        match next {
            None => {
                // Transition at the end.
                if marker.chars().count() < 4 {
                    return None;
                }
                self.transition(ctx, n);
                Some(i + 1)
            }
            Some(l) if l.t.is_empty() => {
                if marker.chars().count() < 4 {
                    return None;
                }
                self.transition(ctx, n);
                Some(i + 2)
            }
            Some(l) if is_line(l.t) && !l.t.starts_with(' ') => {
                // An underline right after an overline.
                if marker.chars().count() < 4 {
                    return None;
                }
                self.msg(Level::Error, "rst.invalid-title", n, "Invalid section title or transition marker.");
                Some(i + 2)
            }
            Some(title) => {
                let overline = rstrip(lines[i].t);
                let short = overline.chars().count() < 4;
                let Some(under) = lines.get(i + 2) else {
                    if short {
                        return None;
                    }
                    self.msg(Level::Error, "rst.incomplete-title", n, "Incomplete section title.");
                    return Some(i + 2);
                };
                let underline = rstrip(under.t);
                if !is_line(underline) {
                    if short {
                        return None;
                    }
                    self.msg(Level::Error, "rst.title-underline", n, "Missing matching underline for section title overline.");
                    return Some(i + 3);
                }
                if overline != underline {
                    if short {
                        return None;
                    }
                    self.msg(Level::Error, "rst.title-mismatch", n, "Title overline & underline mismatch.");
                    return Some(i + 3);
                }
                let t = rstrip(title.t);
                if column_width(t) > overline.chars().count() {
                    if short {
                        return None;
                    }
                    self.msg(Level::Warning, "rst.title-overline-short", n, "Title overline too short.");
                }
                let c = overline.chars().next().unwrap();
                self.section(ctx, t.trim_start(), (c, c), n + 1);
                Some(i + 3)
            }
        }
    }

    fn transition(&mut self, ctx: Ctx, n: u32) {
        self.docinfo_open = false;
        self.elem(ctx, Elem::Transition(n));
    }

    /// A new section with title `title` in `style` (overline char, underline char).
    fn section(&mut self, ctx: Ctx, title: &str, style: (char, char), n: u32) {
        self.docinfo_open = false;
        let old = self.section_level;
        let new = self.title_styles.iter().position(|s| *s == style).map_or(self.title_styles.len() + 1, |p| p + 1);
        if new > old + 1 {
            self.msg(Level::Error, "rst.title-level", n, format!("Inconsistent title style: skip from level {old} to {new}."));
            return;
        }
        if new > self.title_styles.len() {
            self.title_styles.push(style);
        }
        self.section_level = new;
        self.produced();
        self.elem(ctx, Elem::Title);
        let name = normalize_name(&self.inline(title, n));
        if self.targets.contains_key(&name) {
            // docutils puts an INFO "Duplicate implicit target name" in the new section,
            // which counts as its first element (a transition right after is then fine).
            self.elem(ctx, Elem::Other);
        }
        self.add_implicit(&name);
    }

    /// docutils' `Text` state: `lines[i]` starts a paragraph, title, or definition list.
    fn text(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        let first = lines[i];
        match lines.get(i + 1) {
            None => {
                self.paragraph(lines, i, i + 1, ctx);
                i + 1
            }
            Some(l) if l.t.is_empty() => self.paragraph(lines, i, i + 1, ctx),
            Some(l) if l.t.starts_with(' ') => self.definition_list(lines, i, ctx),
            Some(l) if is_line(l.t) => {
                let title = rstrip(first.t);
                let underline = rstrip(l.t);
                let mut short = false;
                if column_width(title) > underline.chars().count() {
                    if underline.chars().count() < 4 {
                        // Too short to be an underline: an ordinary paragraph line.
                        return self.paragraph_from(lines, i, ctx);
                    }
                    short = true;
                }
                if !ctx.titles {
                    if short {
                        self.msg(Level::Warning, "rst.title-underline-short", l.n, "Title underline too short.");
                    }
                    self.msg(Level::Error, "rst.unexpected-section", l.n, "Unexpected section title.");
                    return i + 2;
                }
                if short {
                    self.msg(
                        Level::Warning,
                        "rst.title-underline-short",
                        l.n,
                        format!("Title underline too short: {:?} has {} characters, its underline {}.", title, column_width(title), underline.chars().count()),
                    );
                }
                // An underline-only style differs from the same character over and under.
                let c = underline.chars().next().unwrap();
                self.section(ctx, title, (c, '\0'), first.n);
                i + 2
            }
            Some(_) => self.paragraph_from(lines, i, ctx),
        }
    }

    /// A paragraph of two or more lines from `i`: up to a blank line, erroring on indentation.
    fn paragraph_from(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        let mut j = i + 1;
        while j < lines.len() && !lines[j].t.is_empty() {
            if lines[j].t.starts_with(' ') && j > i + 1 {
                // get_text_block(flush_left=True) stops at the indented line.
                self.paragraph(lines, i, j, ctx);
                self.msg(Level::Error, "rst.unexpected-indentation", lines[j].n, "Unexpected indentation.");
                return j;
            }
            j += 1;
        }
        self.paragraph(lines, i, j, ctx)
    }

    /// Emits the paragraph `lines[i..j]`; handles a following literal block; returns the next index.
    fn paragraph(&mut self, lines: &[L<'_>], i: usize, j: usize, ctx: Ctx) -> usize {
        self.docinfo_open = false;
        let text: Vec<&str> = lines[i..j].iter().map(|l| l.t).collect();
        let data = text.join("\n");
        let data = rstrip(&data);
        let literal = ends_with_unescaped_double_colon(data);
        let shown = if literal {
            if data.len() == 2 {
                ""
            } else if data[..data.len() - 2].ends_with([' ', '\n']) {
                rstrip(&data[..data.len() - 3])
            } else {
                &data[..data.len() - 1]
            }
        } else {
            data
        };
        if !(literal && data.len() == 2) {
            self.produced();
            self.elem(ctx, Elem::Other);
            self.inline(shown, lines[i].n);
        }
        if !literal {
            return j;
        }
        self.literal_block(lines, j, ctx)
    }

    /// The literal block after `::`, starting at index `j` (the line after the paragraph).
    fn literal_block(&mut self, lines: &[L<'_>], j: usize, ctx: Ctx) -> usize {
        let (block, blank_finish) = get_indented(lines, j, Indent::Unknown, false);
        let end = j + block.len();
        let content: Vec<_> = block.iter().skip_while(|l| l.t.is_empty()).collect();
        if content.iter().any(|l| !l.t.is_empty()) {
            self.produced();
            self.elem(ctx, Elem::Other);
            if !blank_finish {
                let n = lines.get(end).map_or(0, |l| l.n);
                self.msg(Level::Warning, "rst.unindent", n, "Literal block ends without a blank line; unexpected unindent.");
            }
            return end;
        }
        // Quoted literal block: unindented lines starting with one punctuation character.
        let mut k = end;
        while k < lines.len() && lines[k].t.is_empty() {
            k += 1;
        }
        let quote = lines.get(k).and_then(|l| l.t.chars().next()).filter(|c| c.is_ascii_punctuation());
        let Some(q) = quote else {
            let n = lines.get(k).map_or_else(|| lines.last().map_or(0, |l| l.n + 1), |l| l.n);
            self.msg(Level::Warning, "rst.literal-expected", n, "Literal block expected; none found.");
            return k;
        };
        self.produced();
        self.elem(ctx, Elem::Other);
        let mut m = k;
        while m < lines.len() && lines[m].t.starts_with(q) {
            m += 1;
        }
        if m < lines.len() && !lines[m].t.is_empty() {
            if lines[m].t.starts_with(' ') {
                self.msg(Level::Error, "rst.unexpected-indentation", lines[m].n, "Unexpected indentation.");
            } else {
                self.msg(Level::Error, "rst.literal-quoting", lines[m].n, "Inconsistent literal block quoting.");
            }
        }
        m
    }

    /// Block quote(s) from the indented line `i`.
    fn block_quote(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        let (block, blank_finish) = get_indented(lines, i, Indent::Unknown, false);
        let end = i + block.len();
        self.docinfo_open = false;
        self.produced();
        self.elem(ctx, Elem::Other);
        let dedented = dedent(&block);
        // Attributions (`-- name` after a blank line) end a quote; the rest starts a new one.
        let mut start = 0;
        let mut k = 0;
        let mut seen = false;
        while k < dedented.len() {
            let t = dedented[k].t;
            if !t.is_empty() {
                if seen && k > 0 && dedented[k - 1].t.is_empty() && attribution(t).is_some() {
                    if let Some(aend) = check_attribution(&dedented, k) {
                        self.body(&dedented[start..k], ctx.nested());
                        let a = attribution(t).unwrap();
                        let mut text = vec![&t[a..]];
                        text.extend(dedented[k + 1..aend].iter().map(|l| l.t.trim_start()));
                        self.inline(&text.join("\n"), dedented[k].n);
                        start = aend;
                        k = aend;
                        seen = false;
                        continue;
                    }
                }
                seen = true;
            }
            k += 1;
        }
        if start < dedented.len() {
            self.body(&dedented[start..], ctx.nested());
        }
        if !blank_finish {
            let n = lines.get(end).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.unindent", n, "Block quote ends without a blank line; unexpected unindent.");
        }
        end
    }

    /// Bullet and enumerated lists.
    fn list(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx, kind: ListKind, end: usize) -> usize {
        self.docinfo_open = false;
        self.produced();
        self.elem(ctx, Elem::Other);
        let name = if matches!(kind, ListKind::Bullet(_)) { "Bullet list" } else { "Enumerated list" };
        let (mut j, mut blank_finish) = self.list_item(lines, i, end, ctx);
        // The list's sequence (`#` lists are arabic), whether `#` was used, the last ordinal.
        let mut last = match &kind {
            ListKind::Enum(e) => Some((e.format, if e.seq == Seq::Auto { Seq::Arabic } else { e.seq }, e.seq == Seq::Auto, e.ordinal.unwrap_or(1))),
            ListKind::Bullet(_) => None,
        };
        while j < lines.len() {
            let l = lines[j].t;
            if l.is_empty() {
                j += 1;
                continue;
            }
            let next_end = match (&kind, &mut last) {
                (ListKind::Bullet(c), _) => bullet(l).filter(|_| l.starts_with(*c)),
                (ListKind::Enum(_), Some((format, seq, auto, ordinal))) => match enumerator_as(l, Some(*seq)) {
                    Some(e)
                        if e.format == *format
                            && (e.seq == Seq::Auto || (e.seq == *seq && !*auto && e.ordinal == Some(*ordinal + 1)))
                            && self.is_enum_item(lines, j, &e) =>
                    {
                        *auto |= e.seq == Seq::Auto;
                        *ordinal = e.ordinal.unwrap_or(*ordinal + 1);
                        Some(e.end)
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some(e) = next_end else { break };
            let (nj, bf) = self.list_item(lines, j, e, ctx);
            j = nj;
            blank_finish = bf;
        }
        // Blank lines skipped between items count as a proper ending.
        if !blank_finish && j > 0 && lines[j - 1].t.is_empty() {
            blank_finish = true;
        }
        if !blank_finish {
            let n = lines.get(j).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.unindent", n, format!("{name} ends without a blank line; unexpected unindent."));
        }
        j
    }

    /// One list item whose marker ends at column `end`; returns (next index, blank_finish).
    fn list_item(&mut self, lines: &[L<'_>], i: usize, end: usize, ctx: Ctx) -> (usize, bool) {
        let has_text = lines[i].t.len() > end;
        let mode = if has_text { Indent::Known(end) } else { Indent::First(end) };
        let (block, bf) = get_indented(lines, i, mode, false);
        let next = i + block.len();
        let d = strip_block(&block, mode);
        self.body(trim_top(&d), ctx.nested());
        (next, bf)
    }

    fn is_enum_item(&self, lines: &[L<'_>], i: usize, e: &Enum) -> bool {
        let Some(ord) = e.ordinal else { return false };
        let Some(next) = lines.get(i + 1) else { return true };
        if next.t.is_empty() || next.t.starts_with(' ') {
            return true;
        }
        let (pre, suf) = e.format.affixes();
        let nexts = make_enumerator(ord + 1, e.seq);
        if let Some(n) = nexts {
            if next.t.starts_with(&format!("{pre}{n}{suf}")) {
                return true;
            }
        }
        next.t.starts_with(&format!("{pre}#{suf}"))
    }

    fn field_list(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx, first_end: usize) -> usize {
        let docinfo = self.docinfo_open && ctx.section_level.is_some() && self.section_level == 0;
        self.docinfo_open = false;
        self.produced();
        self.elem(ctx, Elem::Other);
        let mut j = i;
        let mut end = first_end;
        let mut blank_finish;
        loop {
            let line = lines[j];
            let name = field_name(line.t, end);
            let (block, bf) = get_indented(lines, j, Indent::First(end), false);
            blank_finish = bf;
            let next = j + block.len();
            self.inline(&name, line.n);
            let body = strip_block(&block, Indent::First(end));
            let body = trim_top(&body);
            let before = self.msgs.len();
            let kinds = self.body_kinds(body, ctx.nested());
            let had_problem = self.msgs[before..].iter().any(|m| m.level >= Level::Warning);
            if docinfo && !had_problem {
                self.biblio_field(&name, &kinds, line.n);
            }
            j = next;
            while j < lines.len() && lines[j].t.is_empty() {
                j += 1;
                blank_finish = true;
            }
            match lines.get(j).and_then(|l| field_marker(l.t)) {
                Some(e) => end = e,
                None => break,
            }
        }
        if !blank_finish {
            let n = lines.get(j).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.unindent", n, "Field list ends without a blank line; unexpected unindent.");
        }
        j
    }

    /// Parses `body` and returns the kinds of its top elements (for bibliographic fields).
    fn body_kinds(&mut self, body: &[L<'_>], ctx: Ctx) -> Vec<&'static str> {
        // Paragraph detection without a node tree: a body is "a single paragraph" when its
        // non-blank lines form one block that starts like text.
        let nonblank: Vec<_> = body.iter().filter(|l| !l.t.is_empty()).collect();
        self.body(body, ctx);
        if nonblank.is_empty() {
            return vec![];
        }
        let one_block = !body.iter().skip_while(|l| l.t.is_empty()).collect::<Vec<_>>().iter().rev().skip_while(|l| l.t.is_empty()).any(|l| l.t.is_empty());
        let first = nonblank[0].t;
        let texty =
            !first.starts_with(' ') && (self.would_be_text(first) || enumerator(first).is_some()) && !nonblank.iter().skip(1).any(|l| l.t.starts_with(' '));
        if one_block && texty {
            if enumerator(first).is_some() && nonblank.len() == 1 {
                // docutils re-parses a one-line enumerated list ("E. Xampl") as a paragraph.
                return vec!["paragraph"];
            }
            if enumerator(first).is_some() {
                return vec!["enumerated_list"];
            }
            return vec!["paragraph"];
        }
        vec!["other", "other"]
    }

    fn biblio_field(&mut self, name: &str, kinds: &[&str], n: u32) {
        let norm = normalize_name(name);
        const TEXT: &[&str] = &["organization", "address", "contact", "version", "revision", "status", "date", "copyright"];
        const ANY: &[&str] = &["author", "authors", "dedication", "abstract"];
        if !TEXT.contains(&norm.as_str()) && !ANY.contains(&norm.as_str()) {
            return;
        }
        if kinds.is_empty() {
            self.msg(Level::Warning, "rst.bibliographic", n, format!("Cannot extract empty bibliographic field \"{name}\"."));
            return;
        }
        if (TEXT.contains(&norm.as_str()) || norm == "author") && kinds != ["paragraph"] {
            self.msg(Level::Warning, "rst.bibliographic", n, format!("Bibliographic field \"{name}\" must contain a single <paragraph>."));
        }
    }

    fn option_list(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        self.docinfo_open = false;
        self.produced();
        self.elem(ctx, Elem::Other);
        let mut j = i;
        let mut blank_finish;
        loop {
            let end = option_marker(lines[j].t).unwrap();
            let (block, bf) = get_indented(lines, j, Indent::First(end), false);
            blank_finish = bf;
            let body = strip_block(&block, Indent::First(end));
            self.body(trim_top(&body), ctx.nested());
            j += block.len();
            while j < lines.len() && lines[j].t.is_empty() {
                j += 1;
                blank_finish = true;
            }
            let Some(e) = lines.get(j).and_then(|l| option_marker(l.t)) else { break };
            let (b, _) = get_indented(lines, j, Indent::First(e), false);
            if !strip_block(&b, Indent::First(e)).iter().any(|l| !l.t.is_empty()) {
                break;
            }
        }
        if !blank_finish {
            let n = lines.get(j).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.unindent", n, "Option list ends without a blank line; unexpected unindent.");
        }
        j
    }

    fn line_block(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        self.docinfo_open = false;
        self.produced();
        self.elem(ctx, Elem::Other);
        let mut j = i;
        let n0 = lines[i].n;
        let mut blank_finish;
        loop {
            let l = lines[j];
            let (block, bf) = get_indented(lines, j, Indent::First(1), true);
            blank_finish = bf;
            let body = strip_block(&block, Indent::First(1));
            let text: Vec<&str> = body.iter().map(|l| l.t).collect();
            self.inline(&text.join("\n"), l.n);
            j += block.len();
            if blank_finish {
                break;
            }
            match lines.get(j) {
                Some(nl) if nl.t.starts_with('|') && (nl.t.len() == 1 || nl.t.as_bytes()[1] == b' ') => continue,
                Some(nl) if nl.t.is_empty() => {
                    blank_finish = true;
                    break;
                }
                None => {
                    blank_finish = true;
                    break;
                }
                _ => break,
            }
        }
        if !blank_finish {
            self.msg(Level::Warning, "rst.unindent", n0 + 1, "Line block ends without a blank line.");
        }
        j
    }

    fn definition_list(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        self.docinfo_open = false;
        self.produced();
        self.elem(ctx, Elem::Other);
        let mut j = i;
        let mut blank_finish;
        loop {
            let term = lines[j];
            let (block, bf) = get_indented(lines, j + 1, Indent::Unknown, false);
            blank_finish = bf;
            // Classifiers (` : `) are part of the term's inline text.
            self.inline(term.t, term.n);
            let d = dedent(&block);
            self.body(trim_top(&d), ctx.nested());
            j = j + 1 + block.len();
            // Another item: a text line followed by an indented line.
            let next_is_item = lines.get(j).is_some_and(|l| !l.t.is_empty() && !l.t.starts_with(' '))
                && lines.get(j + 1).is_some_and(|l| l.t.starts_with(' '))
                && self.would_be_text(lines[j].t);
            if !next_is_item {
                break;
            }
        }
        if !blank_finish {
            let n = lines.get(j).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.unindent", n, "Definition list ends without a blank line; unexpected unindent.");
        }
        j
    }

    /// Whether a Body-state line would go to the Text state (no other construct starts there).
    fn would_be_text(&self, line: &str) -> bool {
        bullet(line).is_none()
            && enumerator(line).is_none()
            && field_marker(line).is_none()
            && option_marker(line).is_none()
            && !(line.starts_with(">>>") && (line.len() == 3 || line.as_bytes()[3] == b' '))
            && !(line.starts_with('|') && (line.len() == 1 || line.as_bytes()[1] == b' '))
            && !is_grid_top(line)
            && !is_simple_top(line)
            && !(line.starts_with("..") && (line.len() == 2 || line.as_bytes()[2] == b' '))
            && !(line.starts_with("__") && (line.len() == 2 || line.as_bytes()[2] == b' '))
            && !is_line(line)
    }

    // ---- Tables ------------------------------------------------------------------------

    fn grid_table(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        self.docinfo_open = false;
        let mut j = i;
        let mut blank_finish = true;
        while j < lines.len() && !lines[j].t.is_empty() {
            if lines[j].t.starts_with(' ') {
                self.msg(Level::Error, "rst.unexpected-indentation", lines[j].n, "Unexpected indentation.");
                blank_finish = false;
                break;
            }
            j += 1;
        }
        let mut block: Vec<L<'_>> = lines[i..j].iter().map(|l| L { t: strip(l.t), n: l.n }).collect();
        if let Some(k) = block.iter().position(|l| !l.t.starts_with(['+', '|'])) {
            block.truncate(k);
            j = i + k;
            blank_finish = false;
        }
        if !block.last().is_some_and(|l| is_grid_top(l.t)) {
            let found = (2..block.len().saturating_sub(1)).rev().find(|&k| is_grid_top(block[k].t));
            match found {
                Some(k) => {
                    block.truncate(k + 1);
                    j = i + k + 1;
                    blank_finish = false;
                }
                None => {
                    self.msg(Level::Error, "rst.malformed-table", lines[i].n, "Malformed table.");
                    return j;
                }
            }
        }
        // East Asian wide characters take two columns: padded as docutils pads them.
        let rows: Vec<Vec<char>> = block
            .iter()
            .map(|l| {
                let mut v = Vec::with_capacity(l.t.len());
                for c in l.t.chars() {
                    let u = c as u32;
                    if is_combining(u) {
                        continue;
                    }
                    v.push(c);
                    if is_wide(u) {
                        v.push('\0');
                    }
                }
                v
            })
            .collect();
        let width = rows[0].len();
        if let Some(bad) = rows.iter().position(|r| r.len() != width || !matches!(r.last(), Some('+' | '|'))) {
            self.msg(Level::Error, "rst.malformed-table", block[bad].n, "Malformed table: this row does not end at the table's right border.");
            return j;
        }
        self.produced();
        self.elem(ctx, Elem::Other);
        let numbers: Vec<u32> = block.iter().map(|l| l.n).collect();
        match parse_grid(&rows, &numbers) {
            Ok(cells) => {
                for cell in cells {
                    let ls: Vec<L<'_>> = cell.iter().map(|(t, n)| L { t: t.as_str(), n: *n }).collect();
                    self.body(trim_top(&dedent(&ls)), ctx.nested());
                }
            }
            Err(()) => self.msg(Level::Error, "rst.malformed-table", lines[i].n, "Malformed table."),
        }
        if !blank_finish {
            let n = lines.get(j).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.table-blank", n, "Blank line required after table.");
        }
        j
    }

    /// docutils' `isolate_simple_table` and `SimpleTableParser`.
    fn simple_table(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        self.docinfo_open = false;
        let n0 = lines[i].n;
        let toplen = strip(lines[i].t).len();
        let limit = lines.len() - 1;
        let mut found = 0;
        let mut found_at = None;
        let mut end = None;
        let mut k = i + 1;
        while k <= limit {
            let t = lines[k].t;
            if is_simple_border(t) {
                let next_blank = k == limit || strip(lines[k + 1].t).is_empty();
                if strip(t).len() != toplen {
                    self.msg(Level::Error, "rst.malformed-table", n0, "Malformed table.\nBottom/header table border does not match top border.");
                    if !next_blank {
                        self.msg(Level::Warning, "rst.table-blank", lines[k].n + 1, "Blank line required after table.");
                    }
                    return k + 1;
                }
                found += 1;
                found_at = Some(k);
                if found == 2 || next_blank {
                    end = Some(k);
                    break;
                }
            }
            k += 1;
        }
        let Some(last) = end else {
            // docutils takes the rest of the input as the table and reports it.
            let extra = if found > 0 { " or no blank line after table bottom" } else { "" };
            self.msg(Level::Error, "rst.malformed-table", n0, format!("Malformed table.\nNo bottom table border found{extra}."));
            let stop = match found_at {
                Some(f) => f + 1,
                None => lines.len(),
            };
            if found > 0 && stop < lines.len() && !strip(lines[stop].t).is_empty() {
                self.msg(Level::Warning, "rst.table-blank", lines[stop].n, "Blank line required after table.");
            }
            return stop;
        };
        let blank_finish = last == limit || strip(lines[last + 1].t).is_empty();
        let block: Vec<Vec<char>> = lines[i..=last]
            .iter()
            .map(|l| {
                let mut v = Vec::with_capacity(l.t.len());
                for c in l.t.chars() {
                    let u = c as u32;
                    if is_combining(u) {
                        continue;
                    }
                    v.push(c);
                    if is_wide(u) {
                        v.push('\0');
                    }
                }
                v
            })
            .collect();
        let numbers: Vec<u32> = lines[i..=last].iter().map(|l| l.n).collect();
        match parse_simple(&block, &numbers) {
            Ok(cells) => {
                self.produced();
                self.elem(ctx, Elem::Other);
                for cell in cells {
                    let ls: Vec<L<'_>> = cell.iter().map(|(t, n)| L { t: t.as_str(), n: *n }).collect();
                    self.body(trim_top(&dedent(&ls)), ctx.nested());
                }
            }
            Err(why) => {
                self.msg(Level::Error, "rst.malformed-table", n0, format!("Malformed table.\n{why}"));
            }
        }
        if !blank_finish {
            self.msg(Level::Warning, "rst.table-blank", lines[last + 1].n, "Blank line required after table.");
        }
        last + 1
    }

    // ---- Explicit markup ---------------------------------------------------------------

    /// Explicit markup (`.. `) and anonymous targets (`__ `), then the ones that follow.
    fn explicit(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> usize {
        let (mut j, mut blank_finish) =
            if lines[i].t.starts_with("__") { self.anonymous_construct(lines, i, ctx) } else { self.explicit_construct(lines, i, ctx) };
        loop {
            let mut k = j;
            while k < lines.len() && lines[k].t.is_empty() {
                k += 1;
            }
            if k > j {
                blank_finish = true;
            }
            match lines.get(k) {
                Some(l) if l.t.starts_with("..") && (l.t.len() == 2 || l.t.as_bytes()[2] == b' ') => {
                    let (nj, bf) = self.explicit_construct(lines, k, ctx);
                    j = nj;
                    blank_finish = bf;
                }
                Some(l) if l.t.starts_with("__") && (l.t.len() == 2 || l.t.as_bytes()[2] == b' ') => {
                    let (nj, bf) = self.anonymous_construct(lines, k, ctx);
                    j = nj;
                    blank_finish = bf;
                }
                _ => break,
            }
        }
        if !blank_finish {
            let n = lines.get(j).map_or(0, |l| l.n);
            self.msg(Level::Warning, "rst.unindent", n, "Explicit markup ends without a blank line; unexpected unindent.");
        }
        j
    }

    fn anonymous_construct(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> (usize, bool) {
        let (block, bf) = get_indented(lines, i, Indent::First(2), true);
        self.anon_targets += 1;
        self.elem(ctx, Elem::Ignored);
        (i + block.len(), bf)
    }

    fn explicit_construct(&mut self, lines: &[L<'_>], i: usize, ctx: Ctx) -> (usize, bool) {
        let line = lines[i].t;
        let n = lines[i].n;
        let rest = line[2..].trim_start_matches(' ');
        let after = line.len() - rest.len();
        // Footnotes and citations: `.. [label]`.
        if let Some(r) = rest.strip_prefix('[') {
            if let Some(close) = r.find(']') {
                let label = &r[..close];
                let tail = &r[close + 1..];
                if tail.is_empty() || tail.starts_with(' ') {
                    let kind = footnote_label(label);
                    if kind.is_some() || is_simplename(label) {
                        let end = after + 1 + close + 1;
                        let end = end + (line[end..].len() - line[end..].trim_start_matches(' ').len());
                        let (block, bf) = get_indented(lines, i, Indent::First(end), false);
                        let body = strip_block(&block, Indent::First(end));
                        let body = trim_top(&body);
                        self.docinfo_open = false;
                        self.produced();
                        self.elem(ctx, Elem::Other);
                        match kind {
                            Some(FootKind::Auto) => self.auto_footnotes += 1,
                            Some(FootKind::AutoNamed(name)) => {
                                self.auto_footnotes += 1;
                                self.add_explicit(&normalize_name(name), None, None, n);
                            }
                            Some(FootKind::Symbol) => self.symbol_footnotes += 1,
                            Some(FootKind::Number) | None => self.add_explicit(&normalize_name(label), None, None, n),
                        }
                        if body.iter().all(|l| l.t.is_empty()) {
                            let what = if kind.is_some() { "Footnote" } else { "Citation" };
                            self.msg(Level::Warning, "rst.empty-footnote", n, format!("{what} content expected."));
                        }
                        self.body(body, ctx.nested());
                        return (i + block.len(), bf);
                    }
                }
            }
        }
        // Hyperlink targets: `.. _name: uri`.
        if rest.starts_with('_') && rest.len() > 1 && !rest[1..].starts_with(' ') {
            return self.hyperlink_target(lines, i, after, ctx);
        }
        // Substitution definitions: `.. |name| directive:: ...`.
        if rest.starts_with('|') && rest.len() > 1 && !rest[1..].starts_with(' ') {
            return self.substitution_def(lines, i, after, ctx);
        }
        // Directives: `.. name::`.
        if let Some((name, end)) = directive_start(line, after) {
            return self.directive(lines, i, &name, end, ctx, false);
        }
        // Anything else is a comment.
        let (block, bf) = get_indented(lines, i, Indent::First(after), false);
        (i + block.len(), bf)
    }

    fn hyperlink_target(&mut self, lines: &[L<'_>], i: usize, after: usize, ctx: Ctx) -> (usize, bool) {
        let n = lines[i].n;
        let (block, bf) = get_indented(lines, i, Indent::First(after), true);
        let next = i + block.len();
        // The name may span lines until its `:`.
        let text: Vec<&str> = block.iter().enumerate().map(|(k, l)| if k == 0 { &l.t[after..] } else { l.t.trim_start() }).collect();
        // The earliest match over all the lines joined is the one docutils finds by adding
        // a line at a time, in one pass.
        let joined = text.join(" ");
        let found = match_target(&joined);
        // Targets may come before the bibliographic field list (docutils' PreBibliographic).
        self.elem(ctx, Elem::Ignored);
        let Some((name, rest_at)) = found else {
            self.msg(Level::Warning, "rst.malformed-target", n, "malformed hyperlink target.");
            return (next, bf);
        };
        let refpart: String = joined[rest_at..].split_whitespace().collect::<Vec<_>>().join(" ");
        let anonymous = name.is_none();
        if anonymous {
            self.anon_targets += 1;
            return (next, bf);
        }
        let name = normalize_name(&unescape(&name.unwrap()));
        // Indirect target: `name_` or `` `a name`_ ``.
        let is_ref = refpart.ends_with('_') && !refpart.ends_with("\\_") && {
            let r = &refpart[..refpart.len() - 1];
            (r.starts_with('`') && r.ends_with('`') && r.len() > 2) || (!r.contains(' ') && is_simplename(r))
        };
        if is_ref {
            let r = refpart[..refpart.len() - 1].trim_matches('`');
            let alias = normalize_name(&unescape(r));
            self.add_explicit(&name, None, Some(alias), n);
        } else {
            let uri: String = refpart.split_whitespace().collect();
            let uri = if uri.is_empty() { None } else { Some(unescape(&uri)) };
            self.add_explicit(&name, uri, None, n);
        }
        (next, bf)
    }

    fn substitution_def(&mut self, lines: &[L<'_>], i: usize, after: usize, ctx: Ctx) -> (usize, bool) {
        let n = lines[i].n;
        let (block, bf) = get_indented(lines, i, Indent::First(after), false);
        let next = i + block.len();
        let line = lines[i].t;
        let s = &line[after + 1..];
        // The name ends at an unescaped `|` not preceded by a space.
        let bytes = s.as_bytes();
        let mut close = None;
        let mut k = 0;
        while k < bytes.len() {
            if bytes[k] == b'\\' {
                k += 2;
                continue;
            }
            if bytes[k] == b'|' && k > 0 && bytes[k - 1] != b' ' && (k + 1 == bytes.len() || bytes[k + 1] == b' ') {
                close = Some(k);
                break;
            }
            k += 1;
        }
        self.elem(ctx, Elem::Ignored);
        let Some(close) = close else {
            // docutils joins the following lines looking for the closing `|`.
            let rest: Vec<&str> = block[1..].iter().map(|l| strip(l.t)).collect();
            let joined = format!("{} {}", s, rest.join(" "));
            let b = joined.as_bytes();
            let mut k = 0;
            let mut closed = false;
            while k < b.len() {
                if b[k] == b'\\' {
                    k += 2;
                    continue;
                }
                if b[k] == b'|' && k > 0 && !b[k - 1].is_ascii_whitespace() && (k + 1 == b.len() || b[k + 1] == b' ') {
                    closed = true;
                    break;
                }
                k += 1;
            }
            if !closed {
                self.msg(Level::Warning, "rst.malformed-substitution", n, "malformed substitution definition.");
            }
            return (next, bf);
        };
        let name = &s[..close];
        let subst = whitespace_normalize(&unescape(name));
        let rest_col = after + 1 + close + 1;
        let tail = &line[rest_col.min(line.len())..];
        let tail_trim = tail.trim_start();
        let body_col = line.len() - tail_trim.len();
        self.subst_defs_lower.insert(subst.to_lowercase());
        if !self.subst_defs.insert(subst.clone()) {
            // docutils: duplicate substitution definitions are an error.
            self.msg(Level::Error, "rst.duplicate-substitution", n, format!("Duplicate substitution definition name: \"{subst}\"."));
        }
        if let Some((dname, end)) = directive_start(line, body_col) {
            self.directive(lines, i, &dname, end, ctx, true);
            return (next, bf);
        }
        let body = strip_block(&block, Indent::First(body_col));
        let text: Vec<&str> = body.iter().map(|l| l.t).collect();
        let text = strip(&text.join("\n")).to_string();
        // Only an embedded directive (`replace::`, `image::`…) defines a substitution.
        let why = if text.is_empty() { "missing contents" } else { "empty or invalid" };
        self.msg(Level::Warning, "rst.empty-substitution", n, format!("Substitution definition \"{subst}\" {why}."));
        (next, bf)
    }

    /// A directive `name` whose `::` ends at column `end` of `lines[i]`.
    fn directive(&mut self, lines: &[L<'_>], i: usize, name: &str, end: usize, ctx: Ctx, in_subst: bool) -> (usize, bool) {
        let n = lines[i].n;
        let (block, bf) = get_indented(lines, i, Indent::First(end), false);
        let next = i + block.len();
        let blank_after = bf || lines.get(next).is_none_or(|l| l.t.is_empty());
        let lname = name.to_lowercase();
        let invisible = matches!(
            lname.as_str(),
            "class" | "title" | "meta" | "sectnum" | "section-numbering" | "target-notes" | "header" | "footer" | "role" | "default-role"
        );
        if !(invisible || in_subst) {
            self.docinfo_open = false;
        }
        if !DIRECTIVES.contains(&lname.as_str()) {
            self.elem(ctx, Elem::Other);
            self.msg(Level::Error, "rst.unknown-directive", n, format!("Unknown directive type \"{name}\"."));
            return (next, blank_after);
        }
        let spec = directive_spec(&lname);
        let body = strip_block(&block, Indent::First(end));
        // Split arguments / options / content as parse_directive_block does.
        let mut ind: Vec<L<'_>> = body.clone();
        if ind.first().is_some_and(|l| strip(l.t).is_empty()) {
            ind.remove(0);
        }
        while ind.last().is_some_and(|l| strip(l.t).is_empty()) {
            ind.pop();
        }
        let takes_args = spec.required > 0 || spec.optional > 0 || !spec.options.is_empty();
        let (mut arg_block, mut content): (Vec<L<'_>>, Vec<L<'_>>);
        let split_at;
        if !ind.is_empty() && takes_args {
            let k = ind.iter().position(|l| strip(l.t).is_empty()).unwrap_or(ind.len());
            split_at = k;
            arg_block = ind[..k].to_vec();
            content = if k < ind.len() { ind[k + 1..].to_vec() } else { Vec::new() };
        } else {
            split_at = 0;
            arg_block = Vec::new();
            content = ind.clone();
        }
        let err = |p: &mut Self, why: String| {
            p.msg(Level::Error, "rst.directive", n, format!("Error in \"{name}\" directive:\n{why}."));
        };
        let mut options: Vec<(String, String)> = Vec::new();
        if !spec.options.is_empty() {
            if let Some(k) = arg_block.iter().position(|l| field_marker(l.t).is_some()) {
                let opt_block = arg_block.split_off(k);
                match parse_options(&opt_block) {
                    Ok(o) => options = o,
                    Err(e) => {
                        self.elem(ctx, Elem::Other);
                        err(self, e);
                        return (next, blank_after);
                    }
                }
            }
        }
        if !arg_block.is_empty() && spec.required == 0 && spec.optional == 0 {
            let mut c = arg_block.clone();
            c.extend_from_slice(&ind[split_at.min(ind.len())..]);
            content = c;
            arg_block.clear();
        }
        let lead = content.iter().take_while(|l| strip(l.t).is_empty()).count();
        content.drain(..lead);
        let arg_text = arg_block.iter().map(|l| l.t).collect::<Vec<_>>().join("\n");
        let words = arg_text.split_whitespace().count();
        if spec.required > 0 || spec.optional > 0 {
            if words < spec.required {
                self.elem(ctx, Elem::Other);
                err(self, format!("{} argument(s) required, {} supplied", spec.required, words));
                return (next, blank_after);
            }
            if words > spec.required + spec.optional && !spec.final_ws {
                self.elem(ctx, Elem::Other);
                err(self, format!("maximum {} argument(s) allowed, {} supplied", spec.required + spec.optional, words));
                return (next, blank_after);
            }
        }
        if !content.is_empty() && !spec.content {
            self.elem(ctx, Elem::Other);
            err(self, "no content permitted".into());
            return (next, blank_after);
        }
        for (k, v) in &options {
            let Some((_, kind)) = spec.options.iter().find(|(o, _)| o == k) else {
                self.elem(ctx, Elem::Other);
                err(self, format!("unknown option: \"{k}\""));
                return (next, blank_after);
            };
            if let Some(why) = check_option(kind, v, in_subst && lname == "image") {
                self.elem(ctx, Elem::Other);
                err(self, format!("invalid option value: (option: \"{k}\"; value: {v:?})\n{why}"));
                return (next, blank_after);
            }
        }
        // Directives that leave only pending, meta or decoration nodes behind.
        self.elem(ctx, if invisible || in_subst { Elem::Ignored } else { Elem::Other });
        // What the directive itself refuses.
        match lname.as_str() {
            "raw" => {
                self.msg(Level::Warning, "rst.raw", n, "\"raw\" directive disabled: PyPI does not allow raw HTML in descriptions.");
            }
            "include" => {
                self.msg(Level::Warning, "rst.include", n, "\"include\" directive disabled: PyPI does not read other files; paste the text instead.");
            }
            "csv-table" if options.iter().any(|(k, _)| k == "file" || k == "url") => {
                self.msg(Level::Warning, "rst.include", n, "\"csv-table\" directive: external data disabled (:file: and :url: are not allowed on PyPI).");
            }
            "replace" | "unicode" | "date" if !in_subst => {
                self.msg(
                    Level::Error,
                    "rst.directive",
                    n,
                    format!("Invalid context: the \"{name}\" directive can only be used within a substitution definition."),
                );
            }
            "image" | "figure" => {
                if !in_subst {
                    self.produced();
                }
                if let Some((_, t)) = options.iter().find(|(k, _)| k == "target") {
                    let t = strip(t);
                    if t.ends_with('_') && !t.ends_with("\\_") && !looks_like_uri(t) {
                        let r = t[..t.len() - 1].trim_matches('`');
                        self.refs.push((normalize_name(&unescape(r)), n));
                    }
                }
                if lname == "figure" && !content.is_empty() {
                    let first = trim_top(&content).first().map_or("", |l| l.t);
                    let comment = first.starts_with("..") && directive_start(first, 3.min(first.len())).is_none();
                    if !(comment || (!first.starts_with(' ') && self.would_be_text(first))) {
                        self.msg(Level::Error, "rst.directive", n, "Figure caption must be a paragraph or empty comment.");
                    }
                    self.body(&content, ctx.nested());
                }
            }
            "role" => {
                // `.. role:: name(base)` defines a role for the rest of the document.
                let arg = strip(&arg_text);
                let (rname, base) = match arg.find('(') {
                    Some(p) => (strip(&arg[..p]), Some(arg[p + 1..].trim_end_matches(')').trim())),
                    None => (arg, None),
                };
                if let Some(b) = base {
                    if !self.roles.contains(&b.to_lowercase()) && b != "raw" {
                        self.msg(Level::Error, "rst.unknown-role", n, format!("Unknown interpreted text role \"{b}\"."));
                    }
                }
                if base.is_some_and(|b| b.eq_ignore_ascii_case("raw")) {
                    self.roles.insert(format!("raw:{}", rname.to_lowercase()));
                } else {
                    self.roles.insert(rname.to_lowercase());
                }
            }
            "default-role" => {
                let r = strip(&arg_text).to_lowercase();
                if !r.is_empty() && !self.roles.contains(&r) {
                    self.msg(Level::Error, "rst.unknown-role", n, format!("Unknown interpreted text role \"{r}\"."));
                }
            }
            "class" => {
                if !content.is_empty() {
                    self.body(&content, ctx);
                }
            }
            "title" | "meta" | "target-notes" | "sectnum" | "section-numbering" | "contents" => {}
            "code"
            | "code-block"
            | "sourcecode"
            | "math"
            | "parsed-literal"
            | "line-block"
            | "header"
            | "footer"
            | "attention"
            | "caution"
            | "danger"
            | "error"
            | "hint"
            | "important"
            | "note"
            | "tip"
            | "warning"
            | "admonition"
            | "sidebar"
            | "topic"
            | "epigraph"
            | "highlights"
            | "pull-quote"
            | "compound"
            | "container"
            | "table"
            | "list-table"
            | "csv-table"
            | "rubric"
            | "restructuredtext-test-directive" => {
                let needs_content = !matches!(lname.as_str(), "math" | "rubric" | "restructuredtext-test-directive");
                if needs_content && content.is_empty() && !(lname == "math" && words > 0) {
                    self.msg(Level::Error, "rst.directive", n, format!("Content block expected for the \"{name}\" directive; none found."));
                    return (next, blank_after);
                }
                if lname == "math" && content.is_empty() && words == 0 {
                    self.msg(Level::Error, "rst.directive", n, format!("Content block expected for the \"{name}\" directive; none found."));
                    return (next, blank_after);
                }
                self.produced();
                if lname == "table" {
                    let first = trim_top(&content).first().map_or("", |l| l.t);
                    if !(is_grid_top(first) || is_simple_top(first)) {
                        self.msg(
                            Level::Error,
                            "rst.directive",
                            n,
                            format!("Error parsing content block for the \"{name}\" directive: exactly one table expected."),
                        );
                        return (next, blank_after);
                    }
                }
                if lname == "list-table" {
                    if let Some(why) = list_table_shape(&content) {
                        self.msg(Level::Error, "rst.directive", n, format!("Error parsing content block for the \"{name}\" directive: {why}."));
                        return (next, blank_after);
                    }
                }
                match lname.as_str() {
                    "code" | "code-block" | "sourcecode" | "math" | "csv-table" => {}
                    "parsed-literal" | "line-block" => {
                        let text: Vec<&str> = content.iter().map(|l| l.t).collect();
                        self.inline(&text.join("\n"), content[0].n);
                    }
                    "rubric" => {
                        self.inline(strip(&arg_text), n);
                    }
                    _ => {
                        if matches!(lname.as_str(), "admonition" | "sidebar" | "topic" | "table") && words > 0 {
                            self.inline(strip(&arg_text), n);
                        }
                        self.body(&content, ctx.nested());
                    }
                }
            }
            _ if in_subst => {}
            _ => self.produced(),
        }
        (next, blank_after)
    }

    // ---- Targets and references --------------------------------------------------------

    fn add_explicit(&mut self, name: &str, uri: Option<String>, alias: Option<String>, n: u32) {
        let t = self.targets.entry(name.to_string()).or_default();
        let dup = t.explicit > 0 && !(uri.is_some() && t.same_uri && t.uri == uri);
        if t.explicit == 0 {
            t.same_uri = uri.is_some();
            t.uri = uri;
        } else if dup {
            t.same_uri = false;
        }
        t.explicit += 1;
        if alias.is_some() {
            t.alias = alias;
        }
        if dup {
            self.msg(Level::Warning, "rst.duplicate-target", n, format!("Duplicate explicit target name: \"{name}\"."));
        }
    }

    fn add_implicit(&mut self, name: &str) {
        self.targets.entry(name.to_string()).or_default().implicit += 1;
    }

    /// Resolves references, substitutions, footnotes and transitions at the end, as docutils'
    /// transforms do.
    fn finish(&mut self) {
        let refs = std::mem::take(&mut self.refs);
        for (name, n) in &refs {
            match self.resolve(name, 0) {
                Resolve::Ok => {}
                Resolve::Unknown => {
                    self.msg(Level::Error, "rst.unknown-target", *n, format!("Unknown target name: \"{name}\"."));
                }
                Resolve::Duplicate => {
                    self.msg(Level::Error, "rst.duplicate-reference", *n, format!("Duplicate target name, cannot be used as a unique reference: \"{name}\"."));
                }
            }
        }
        let aliases: Vec<(String, String)> = self.targets.iter().filter_map(|(k, t)| t.alias.clone().map(|a| (k.clone(), a))).collect();
        for (name, alias) in aliases {
            if self.resolve(&alias, 0) != Resolve::Ok {
                self.msg(
                    Level::Error,
                    "rst.indirect-target",
                    0,
                    format!("Indirect hyperlink target \"{name}\" refers to target \"{alias}\", which does not exist."),
                );
            }
        }
        if self.anon_refs != self.anon_targets {
            let (r, t) = (self.anon_refs, self.anon_targets);
            self.msg(Level::Error, "rst.anonymous-mismatch", 0, format!("Anonymous hyperlink mismatch: {r} references but {t} targets."));
        }
        if self.auto_refs.len() > self.auto_footnotes {
            let n = self.auto_refs[self.auto_footnotes];
            self.msg(
                Level::Error,
                "rst.footnote",
                n,
                format!("Too many autonumbered footnote references: only {} corresponding footnotes available.", self.auto_footnotes),
            );
        }
        if self.symbol_refs.len() > self.symbol_footnotes {
            let n = self.symbol_refs[self.symbol_footnotes];
            self.msg(
                Level::Error,
                "rst.footnote",
                n,
                format!("Too many symbol footnote references: only {} corresponding footnotes available.", self.symbol_footnotes),
            );
        }
        let subs = std::mem::take(&mut self.subst_refs);
        for (name, n) in subs {
            let found = self.subst_defs.contains(&name) || self.subst_defs_lower.contains(&name.to_lowercase());
            if !found {
                self.msg(Level::Error, "rst.undefined-substitution", n, format!("Undefined substitution referenced: \"{name}\"."));
            }
        }
        // Transitions (docutils 0.23 `transition.validate_position`): not first in a section
        // or the document, not right after another, not at the very end.
        let top = std::mem::take(&mut self.top);
        let mut later_content = vec![false; top.len() + 1];
        for k in (0..top.len()).rev() {
            later_content[k] = later_content[k + 1] || top[k] != Elem::Ignored;
        }
        let mut content_since_title = false;
        let mut in_section = false;
        for (k, e) in top.iter().enumerate() {
            match *e {
                Elem::Title => {
                    content_since_title = false;
                    in_section = true;
                }
                Elem::Ignored => {}
                Elem::Other => content_since_title = true,
                Elem::Transition(n) => {
                    if k > 0 && matches!(top[k - 1], Elem::Transition(_)) {
                        self.msg(Level::Warning, "rst.transition", n, "At least one body element should separate transitions.");
                    } else if !content_since_title {
                        let what = if in_section { "section" } else { "document" };
                        self.msg(Level::Warning, "rst.transition", n, format!("Transition at the start of the {what}."));
                    }
                    if !later_content[k + 1] {
                        self.msg(Level::Warning, "rst.transition", n, "Transition at the end of the document.");
                    }
                    content_since_title = true;
                }
            }
        }
        self.msgs.sort_by_key(|m| m.line.unwrap_or(u32::MAX));
    }

    fn resolve(&self, name: &str, depth: usize) -> Resolve {
        let Some(t) = self.targets.get(name) else { return Resolve::Unknown };
        if t.explicit > 0 {
            let unique = t.explicit == 1 || t.same_uri;
            if !unique {
                return Resolve::Duplicate;
            }
            if let Some(a) = &t.alias {
                if depth > 20 {
                    return Resolve::Unknown;
                }
                return self.resolve(a, depth + 1);
            }
            return Resolve::Ok;
        }
        if t.implicit == 1 {
            Resolve::Ok
        } else {
            Resolve::Duplicate
        }
    }

    // ---- Inline markup -----------------------------------------------------------------

    /// docutils' `Inliner.parse` over `text` (line `n` is where it starts); returns the
    /// plain text (for section names).
    fn inline(&mut self, text: &str, n: u32) -> String {
        let chars: Vec<char> = escape2null(text);
        let mut out = String::new();
        let len = chars.len();
        // Line of each character, and one cache per end-string kind: an end-string search
        // that failed from `p` fails from every later start too, and one that found `e` finds
        // `e` again from any start before it, so every search costs O(text) in total.
        let mut line_of = Vec::with_capacity(len + 1);
        let mut cur = n;
        for &c in &chars {
            line_of.push(cur);
            if c == '\n' {
                cur += 1;
            }
        }
        line_of.push(cur);
        let mut c_strong = Cache::default();
        let mut c_emph = Cache::default();
        let mut c_lit = Cache::default();
        let mut c_target = Cache::default();
        let mut c_subst: Cache<(usize, usize)> = Cache::default();
        let mut c_interp: Cache<(usize, Option<String>, usize)> = Cache::default();
        let mut c_close = Cache::default();
        let mut c_name = (0usize, 0usize);
        let mut i = 0;
        let mut seg_start = 0;
        while i < len {
            let c = chars[i];
            let prev = if i == 0 { None } else { Some(chars[i - 1]) };
            if !start_ok(prev) {
                i += 1;
                continue;
            }
            // Start-strings: ** * `` _` | and interpreted/role forms.
            let line_at = |k: usize| line_of[k];
            match c {
                '*' | '`' | '|' | '_' | ':' | '[' => {}
                _ => {
                    // Whole constructs: `name_`, `name__`.
                    if let Some((end, anon, name)) = simple_ref(&chars, i, &mut c_name) {
                        self.add_ref_name(&name, anon, line_at(i));
                        out.extend(&chars[seg_start..i]);
                        out.push_str(&name);
                        i = end;
                        seg_start = i;
                        continue;
                    }
                    i += 1;
                    continue;
                }
            }
            // Strong, emphasis and inline literals: a start-string, its end-string, and the text
            // between kept. `**` is tried before `*`.
            let simple = if c == '*' && chars.get(i + 1) == Some(&'*') {
                Some((2, "**", false, &mut c_strong, "strong"))
            } else if c == '*' {
                Some((1, "*", false, &mut c_emph, "emphasis"))
            } else if c == '`' && chars.get(i + 1) == Some(&'`') {
                Some((2, "``", true, &mut c_lit, "literal"))
            } else {
                None
            };
            if let Some((open, close, literal, cache, what)) = simple {
                if self.quoted(&chars, i, open) || chars.get(i + open).is_some_and(|c| c.is_whitespace()) {
                    i += open;
                    continue;
                }
                match cache.get(i + open, |f| find_end(&chars, f, close, literal)) {
                    Some(e) => {
                        out.extend(&chars[seg_start..i]);
                        out.extend(&chars[i + open..e]);
                        i = e + close.chars().count();
                        seg_start = i;
                    }
                    None => {
                        self.msg(Level::Warning, "rst.inline-unterminated", line_at(i), format!("Inline {what} start-string without end-string."));
                        i += open;
                    }
                }
                continue;
            }
            if c == '_' && chars.get(i + 1) == Some(&'`') {
                if self.quoted(&chars, i, 2) || chars.get(i + 2).is_some_and(|c| c.is_whitespace()) {
                    i += 2;
                    continue;
                }
                match c_target.get(i + 2, |f| find_end(&chars, f, "`", false)) {
                    Some(e) => {
                        let name: String = chars[i + 2..e].iter().filter(|&&c| c != '\0').collect();
                        // Inline targets are explicit targets (without a URI) in docutils.
                        self.add_explicit(&normalize_name(&name), None, None, line_at(i));
                        out.extend(&chars[seg_start..i]);
                        out.push_str(&name);
                        i = e + 1;
                        seg_start = i;
                    }
                    None => {
                        self.msg(Level::Warning, "rst.inline-unterminated", line_at(i), "Inline target start-string without end-string.");
                        i += 2;
                    }
                }
                continue;
            }
            if c == '|' && chars.get(i + 1) != Some(&'|') {
                if self.quoted(&chars, i, 1) || chars.get(i + 1).is_some_and(|c| c.is_whitespace()) {
                    i += 1;
                    continue;
                }
                match c_subst.get(i + 1, |f| find_subst_end(&chars, f)) {
                    Some((e, suffix)) => {
                        let name: String = chars[i + 1..e].iter().filter(|&&c| c != '\0').collect();
                        let name = whitespace_normalize(&name);
                        self.subst_refs.push((name.clone(), line_at(i)));
                        if suffix > 0 {
                            self.add_ref_name(&normalize_name(&name), suffix == 2, line_at(i));
                        }
                        out.extend(&chars[seg_start..i]);
                        i = e + 1 + suffix;
                        seg_start = i;
                    }
                    None => {
                        self.msg(Level::Warning, "rst.inline-unterminated", line_at(i), "Inline substitution_reference start-string without end-string.");
                        i += 1;
                    }
                }
                continue;
            }
            if c == '[' {
                if let Some((end, label)) = footnote_ref(&chars, i, &mut c_close) {
                    let ln = line_at(i);
                    out.extend(&chars[seg_start..i]);
                    match footnote_label(&label) {
                        Some(FootKind::Auto) => self.auto_refs.push(ln),
                        Some(FootKind::Symbol) => self.symbol_refs.push(ln),
                        Some(FootKind::AutoNamed(name)) => self.refs.push((normalize_name(name), ln)),
                        Some(FootKind::Number) | None => {
                            // The label is the reference's text (a title made of it names its section).
                            self.refs.push((normalize_name(&label), ln));
                            out.push_str(&label);
                        }
                    }
                    i = end;
                    seg_start = i;
                    continue;
                }
                i += 1;
                continue;
            }
            if c == ':' || c == '`' {
                // Optional `:role:` prefix, then interpreted text or a phrase reference.
                let (role, bq) = if c == ':' {
                    match role_prefix(&chars, i) {
                        Some((r, b)) => (Some(r), b),
                        None => {
                            i += 1;
                            continue;
                        }
                    }
                } else {
                    (None, i)
                };
                // A role prefix makes even a backquote at the very end a start-string.
                if chars.get(bq + 1).is_some_and(|c| *c == '`' || c.is_whitespace()) {
                    i = bq + 1;
                    continue;
                }
                if role.is_none() && self.quoted(&chars, bq, 1) {
                    i = bq + 1;
                    continue;
                }
                match c_interp.get(bq + 1, |f| find_interpreted_end(&chars, f)) {
                    Some((e, suffix_role, refend)) => {
                        let ln = line_at(i);
                        let body: String = chars[bq + 1..e].iter().collect();
                        let after = e + 1 + suffix_role.as_ref().map_or(0, |r| r.chars().count() + 2) + refend;
                        if role.is_some() && suffix_role.is_some() {
                            self.msg(
                                Level::Warning,
                                "rst.inline-role",
                                ln,
                                "Multiple roles in interpreted text (both prefix and suffix present; only one allowed).",
                            );
                        } else if refend > 0 {
                            if role.is_some() || suffix_role.is_some() {
                                self.msg(Level::Warning, "rst.inline-role", ln, "Mismatch: both interpreted text role prefix and reference suffix.");
                            } else {
                                let shown = self.phrase_ref(&body, refend == 2, ln);
                                out.extend(&chars[seg_start..i]);
                                out.push_str(&shown);
                                i = after;
                                seg_start = i;
                                continue;
                            }
                        } else {
                            let r = role.or(suffix_role);
                            self.interpreted(r.as_deref(), &body, ln);
                            out.extend(&chars[seg_start..i]);
                            out.extend(body.chars().filter(|&c| c != '\0'));
                            i = after;
                            seg_start = i;
                            continue;
                        }
                        i = after;
                        seg_start = i;
                    }
                    None => {
                        self.msg(
                            Level::Warning,
                            "rst.inline-unterminated",
                            line_at(bq),
                            "Inline interpreted text or phrase reference start-string without end-string.",
                        );
                        i = bq + 1;
                    }
                }
                continue;
            }
            i += 1;
        }
        out.extend(&chars[seg_start.min(len)..]);
        out.retain(|c| c != '\0');
        out
    }

    fn add_ref_name(&mut self, name: &str, anonymous: bool, n: u32) {
        if anonymous {
            self.anon_refs += 1;
        } else {
            self.refs.push((normalize_name(name), n));
        }
    }

    fn quoted(&self, chars: &[char], start: usize, len: usize) -> bool {
        if start == 0 {
            return false;
        }
        let Some(&post) = chars.get(start + len) else { return true };
        match_chars(chars[start - 1], post)
    }

    /// `` `text <uri>`_ `` and friends; returns the shown text.
    fn phrase_ref(&mut self, escaped: &str, anonymous: bool, n: u32) -> String {
        let unesc = |s: &str| s.chars().filter(|&c| c != '\0').collect::<String>();
        if let Some((text, alias)) = embedded(escaped) {
            let alias_raw: String = alias.to_string();
            let is_name = alias_raw.ends_with('_') && !alias_raw.ends_with("\0_") && !looks_like_uri(&unesc(&alias_raw));
            let shown = if text.is_empty() { unesc(&alias_raw) } else { unesc(text) };
            if is_name {
                let target = normalize_name(&unesc(&alias_raw[..alias_raw.len() - 1]));
                self.refs.push((target, n));
                if !anonymous && !text.is_empty() {
                    self.add_implicit(&normalize_name(&unesc(text)));
                }
            } else if !anonymous {
                self.add_implicit(&normalize_name(&shown));
            }
            return shown;
        }
        let text = unesc(escaped);
        if anonymous {
            self.anon_refs += 1;
        } else {
            self.refs.push((normalize_name(&text), n));
        }
        text
    }

    fn interpreted(&mut self, role: Option<&str>, text: &str, n: u32) {
        let role = role.map(|r| r.to_lowercase()).unwrap_or_else(|| "title-reference".into());
        if role == "raw" || self.roles.contains(&format!("raw:{role}")) {
            self.msg(Level::Warning, "rst.raw", n, "raw (and derived) roles disabled");
            return;
        }
        if !self.roles.contains(&role) {
            self.msg(Level::Error, "rst.unknown-role", n, format!("Unknown interpreted text role \"{role}\"."));
            return;
        }
        let t: String = text.chars().filter(|&c| c != '\0').collect();
        let pep = matches!(role.as_str(), "pep-reference" | "pep");
        let rfc = matches!(role.as_str(), "rfc-reference" | "rfc");
        if pep && !matches!(t.parse::<u32>(), Ok(v) if v <= 9999) {
            self.msg(Level::Error, "rst.role", n, format!("PEP number must be a number from 0 to 9999; \"{t}\" is invalid."));
        }
        if rfc && !matches!(t.split('#').next().unwrap_or("").parse::<u32>(), Ok(v) if v >= 1) {
            self.msg(Level::Error, "rst.role", n, format!("RFC number must be a number greater than or equal to 1; \"{t}\" is invalid."));
        }
    }
}

/// The last end-string search of one kind: from where, and what it found.
struct Cache<T> {
    from: usize,
    found: Option<(usize, T)>,
    valid: bool,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache { from: 0, found: None, valid: false }
    }
}

/// End positions found by a search: the key that makes results reusable.
trait EndAt {
    fn end_at(&self) -> usize;
}

impl EndAt for usize {
    fn end_at(&self) -> usize {
        *self
    }
}

impl EndAt for (usize, usize) {
    fn end_at(&self) -> usize {
        self.0
    }
}

impl EndAt for (usize, Option<String>, usize) {
    fn end_at(&self) -> usize {
        self.0
    }
}

impl<T: EndAt + Clone> Cache<T> {
    /// `search(from)`, reusing the previous answer when it must be the same.
    fn get(&mut self, from: usize, search: impl FnOnce(usize) -> Option<T>) -> Option<T> {
        if self.valid && from >= self.from {
            match &self.found {
                None => return None,
                Some((e, v)) if from < *e => return Some(v.clone()),
                _ => {}
            }
        }
        let r = search(from);
        self.from = from;
        self.found = r.clone().map(|v| (v.end_at(), v));
        self.valid = true;
        r
    }
}

#[derive(PartialEq, Eq)]
enum Resolve {
    Ok,
    Unknown,
    Duplicate,
}

// ---- Line classification --------------------------------------------------------------

fn bullet(line: &str) -> Option<usize> {
    let c = line.chars().next()?;
    if !matches!(c, '-' | '+' | '*' | '\u{2022}' | '\u{2023}' | '\u{2043}') {
        return None;
    }
    let rest = &line[c.len_utf8()..];
    if rest.is_empty() {
        return Some(line.len());
    }
    if !rest.starts_with(' ') {
        return None;
    }
    Some(line.len() - rest.trim_start_matches(' ').len())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Parens,
    Rparen,
    Period,
}

impl Format {
    fn affixes(self) -> (&'static str, &'static str) {
        match self {
            Format::Parens => ("(", ")"),
            Format::Rparen => ("", ")"),
            Format::Period => ("", "."),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seq {
    Arabic,
    LowerAlpha,
    UpperAlpha,
    LowerRoman,
    UpperRoman,
    Auto,
}

#[derive(Clone, Debug)]
struct Enum {
    format: Format,
    seq: Seq,
    ordinal: Option<u64>,
    end: usize,
}

enum ListKind {
    Bullet(char),
    Enum(Enum),
}

fn enumerator(line: &str) -> Option<Enum> {
    enumerator_as(line, None)
}

/// An enumerator read the way a list of sequence `expected` reads it (`i` is a letter in an
/// alphabetic list).
fn enumerator_as(line: &str, expected: Option<Seq>) -> Option<Enum> {
    let (format, body_start) = if line.starts_with('(') { (Format::Parens, 1) } else { (Format::Period, 0) };
    let b = line.as_bytes();
    let mut k = body_start;
    while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'#') {
        k += 1;
    }
    let text = &line[body_start..k];
    if text.is_empty() {
        return None;
    }
    let format = match (format, b.get(k)) {
        (Format::Parens, Some(b')')) => Format::Parens,
        (Format::Period, Some(b')')) => Format::Rparen,
        (Format::Period, Some(b'.')) => Format::Period,
        _ => return None,
    };
    let after = k + 1;
    if after < b.len() && b[after] != b' ' {
        return None;
    }
    let end = after + (line[after..].len() - line[after..].trim_start_matches(' ').len());
    let all = |f: fn(u8) -> bool| text.bytes().all(f);
    let fits = |seq: Seq| match seq {
        Seq::Arabic => all(|c| c.is_ascii_digit()),
        Seq::LowerAlpha => text.len() == 1 && all(|c| c.is_ascii_lowercase()),
        Seq::UpperAlpha => text.len() == 1 && all(|c| c.is_ascii_uppercase()),
        Seq::LowerRoman => all(|c| b"ivxlcdm".contains(&c)),
        Seq::UpperRoman => all(|c| b"IVXLCDM".contains(&c)),
        Seq::Auto => text == "#",
    };
    let seq = if text == "#" {
        Seq::Auto
    } else if let Some(e) = expected.filter(|&e| fits(e)) {
        e
    } else if text == "i" {
        Seq::LowerRoman
    } else if text == "I" {
        Seq::UpperRoman
    } else if all(|c| c.is_ascii_digit()) {
        Seq::Arabic
    } else if text.len() == 1 && all(|c| c.is_ascii_lowercase()) {
        Seq::LowerAlpha
    } else if text.len() == 1 && all(|c| c.is_ascii_uppercase()) {
        Seq::UpperAlpha
    } else if all(|c| b"ivxlcdm".contains(&c)) {
        Seq::LowerRoman
    } else if all(|c| b"IVXLCDM".contains(&c)) {
        Seq::UpperRoman
    } else {
        return None;
    };
    let ordinal = match seq {
        Seq::Auto => Some(1),
        Seq::Arabic => text.parse().ok(),
        Seq::LowerAlpha => Some(u64::from(text.as_bytes()[0] - b'a' + 1)),
        Seq::UpperAlpha => Some(u64::from(text.as_bytes()[0] - b'A' + 1)),
        Seq::LowerRoman | Seq::UpperRoman => roman_to_int(&text.to_ascii_uppercase()),
    };
    Some(Enum { format, seq, ordinal, end })
}

fn roman_to_int(s: &str) -> Option<u64> {
    let v = |c: u8| -> i64 {
        match c {
            b'I' => 1,
            b'V' => 5,
            b'X' => 10,
            b'L' => 50,
            b'C' => 100,
            b'D' => 500,
            b'M' => 1000,
            _ => 0,
        }
    };
    let b = s.as_bytes();
    let mut total: i64 = 0;
    for k in 0..b.len() {
        let cur = v(b[k]);
        if b.get(k + 1).is_some_and(|&n| v(n) > cur) {
            total -= cur;
        } else {
            total += cur;
        }
    }
    // Only canonical numerals count, as docutils' RomanNumeral.from_string has it.
    (total > 0 && total < 4000 && int_to_roman(total as u64) == s).then_some(total as u64)
}

fn int_to_roman(mut n: u64) -> String {
    const T: &[(u64, &str)] = &[
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut s = String::new();
    for &(v, r) in T {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

fn make_enumerator(ordinal: u64, seq: Seq) -> Option<String> {
    Some(match seq {
        Seq::Auto => "#".into(),
        Seq::Arabic => ordinal.to_string(),
        Seq::LowerAlpha if ordinal <= 26 => ((b'a' + ordinal as u8 - 1) as char).to_string(),
        Seq::UpperAlpha if ordinal <= 26 => ((b'A' + ordinal as u8 - 1) as char).to_string(),
        Seq::LowerRoman if ordinal < 4000 => int_to_roman(ordinal).to_lowercase(),
        Seq::UpperRoman if ordinal < 4000 => int_to_roman(ordinal),
        _ => return None,
    })
}

/// `:name: ` field marker; returns where the body starts.
fn field_marker(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    if b.first() != Some(&b':') || matches!(b.get(1), None | Some(b':') | Some(b' ')) {
        return None;
    }
    let mut k = 1;
    while k < b.len() {
        match b[k] {
            b'\\' => k += 2,
            b':' => {
                // A colon followed by space, backquote or end closes the name.
                let next = b.get(k + 1);
                if next == Some(&b'`') {
                    // Neither the end of the name nor part of it.
                    return None;
                }
                if next.is_none() || next == Some(&b' ') {
                    if b[k - 1] == b' ' {
                        return None;
                    }
                    let after = k + 1;
                    return Some(after + (line[after..].len() - line[after..].trim_start_matches(' ').len()));
                }
                k += 1;
            }
            _ => k += 1,
        }
    }
    None
}

fn field_name(line: &str, end: usize) -> String {
    let t = line[..end].trim_end();
    t[1..t.len() - 1].to_string()
}

/// Option list marker (`-a`, `--long=ARG`, `/V`); returns where the description starts.
fn option_marker(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut k = 0;
    loop {
        // One option.
        if b.get(k) == Some(&b'-') && b.get(k + 1) == Some(&b'-') || b.get(k) == Some(&b'/') {
            k += if b[k] == b'/' { 1 } else { 2 };
            if !b.get(k).is_some_and(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            k += 1;
            while b.get(k).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-') {
                k += 1;
            }
            if matches!(b.get(k), Some(b' ' | b'=')) {
                if let Some(e) = optarg(b, k + 1) {
                    if !(b[k] == b' ' && b.get(k + 1) == Some(&b' ')) {
                        k = e;
                    }
                }
            }
        } else if matches!(b.get(k), Some(b'-' | b'+')) {
            k += 1;
            if !b.get(k).is_some_and(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            k += 1;
            let s = if b.get(k) == Some(&b' ') { k + 1 } else { k };
            if let Some(e) = optarg(b, s) {
                if !(s == k + 1 && b.get(s) == Some(&b' ')) {
                    k = e;
                }
            }
        } else {
            return None;
        }
        if b.get(k) == Some(&b',') && b.get(k + 1) == Some(&b' ') {
            k += 2;
            continue;
        }
        break;
    }
    if k == b.len() {
        return Some(k);
    }
    if b[k] != b' ' {
        return None;
    }
    if k + 1 == b.len() {
        return Some(k + 1);
    }
    if b[k + 1] != b' ' {
        return None;
    }
    Some(k + (line[k..].len() - line[k..].trim_start_matches(' ').len()))
}

fn optarg(b: &[u8], k: usize) -> Option<usize> {
    if b.get(k) == Some(&b'<') {
        let mut e = k + 1;
        while e < b.len() && b[e] != b'>' && b[e] != b'<' {
            e += 1;
        }
        return (b.get(e) == Some(&b'>') && e > k + 1).then_some(e + 1);
    }
    if !b.get(k).is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut e = k + 1;
    while b.get(e).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-') {
        e += 1;
    }
    Some(e)
}

fn is_grid_top(line: &str) -> bool {
    let t = line.trim_end_matches(' ');
    let b = t.as_bytes();
    b.len() >= 4
        && b[0] == b'+'
        && b[1] == b'-'
        && b[b.len() - 1] == b'+'
        && b[b.len() - 2] == b'-'
        && b[1..b.len() - 1].iter().all(|c| *c == b'-' || *c == b'+')
}

fn is_simple_top(line: &str) -> bool {
    let t = line.trim_end_matches(' ');
    t.starts_with('=') && t.contains(' ') && t.bytes().all(|c| c == b'=' || c == b' ') && t.ends_with('=')
}

fn is_simple_border(line: &str) -> bool {
    line.starts_with('=') && line.bytes().all(|c| c == b'=' || c == b' ')
}

/// A line of one repeated 7-bit punctuation character (trailing spaces allowed).
fn is_line(line: &str) -> bool {
    let t = line.trim_end_matches(' ');
    let Some(c) = t.chars().next() else { return false };
    c.is_ascii_punctuation() && t.chars().all(|x| x == c)
}

fn ends_with_unescaped_double_colon(data: &str) -> bool {
    if !data.ends_with("::") {
        return false;
    }
    let before = &data[..data.len() - 2];
    let slashes = before.len() - before.trim_end_matches('\\').len();
    slashes.is_multiple_of(2)
}

fn attribution(line: &str) -> Option<usize> {
    let dash = if line.starts_with("---") && !line.starts_with("----") {
        3
    } else if line.starts_with("--") && !line.starts_with("---") {
        2
    } else if line.starts_with('\u{2014}') {
        3
    } else {
        return None;
    };
    let rest = &line[dash..];
    let t = rest.trim_start_matches(' ');
    (!t.is_empty()).then_some(dash + rest.len() - t.len())
}

fn check_attribution(lines: &[L<'_>], start: usize) -> Option<usize> {
    let mut indent = None;
    let mut k = start + 1;
    while k < lines.len() {
        let t = lines[k].t;
        if t.is_empty() {
            return Some(k);
        }
        let i = t.len() - t.trim_start().len();
        match indent {
            None => indent = Some(i),
            Some(x) if x != i => return None,
            _ => {}
        }
        k += 1;
    }
    Some(k)
}

enum FootKind<'a> {
    Number,
    Auto,
    AutoNamed(&'a str),
    Symbol,
}

fn footnote_label(label: &str) -> Option<FootKind<'_>> {
    if !label.is_empty() && label.bytes().all(|c| c.is_ascii_digit()) {
        return Some(FootKind::Number);
    }
    if label == "#" {
        return Some(FootKind::Auto);
    }
    if label == "*" {
        return Some(FootKind::Symbol);
    }
    if let Some(n) = label.strip_prefix('#') {
        if is_simplename(n) {
            return Some(FootKind::AutoNamed(n));
        }
    }
    None
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// docutils' `simplename`: word characters (no `_` at either end of a part) with isolated
/// internal `-._+:`.
fn is_simplename(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    simplename_len(&chars, 0) == chars.len() && !chars.is_empty()
}

/// Length of the longest simplename at `chars[i..]` (0 if none).
fn simplename_len(chars: &[char], i: usize) -> usize {
    let part = |k: usize| {
        let mut e = k;
        while e < chars.len() && is_word(chars[e]) && chars[e] != '_' {
            e += 1;
        }
        e
    };
    let mut e = part(i);
    if e == i {
        return 0;
    }
    loop {
        if e < chars.len() && matches!(chars[e], '-' | '.' | '_' | '+' | ':') {
            let f = part(e + 1);
            if f > e + 1 {
                e = f;
                continue;
            }
        }
        return e - i;
    }
}

fn directive_start(line: &str, at: usize) -> Option<(String, usize)> {
    let rest = &line[at..];
    let chars: Vec<char> = rest.chars().collect();
    let n = simplename_len(&chars, 0);
    if n == 0 {
        return None;
    }
    let name: String = chars[..n].iter().collect();
    let mut k = n;
    if chars.get(k) == Some(&' ') {
        k += 1;
    }
    if chars.get(k) != Some(&':') || chars.get(k + 1) != Some(&':') {
        return None;
    }
    k += 2;
    if k < chars.len() && chars[k] != ' ' {
        return None;
    }
    while chars.get(k) == Some(&' ') {
        k += 1;
    }
    let bytes: usize = chars[..k].iter().map(|c| c.len_utf8()).sum();
    Some((name, at + bytes))
}

/// docutils' hyperlink target pattern over `s` (the text after `.. `, starting with `_`,
/// joined over lines): returns (name, or None for anonymous; where the reference starts).
fn match_target(s: &str) -> Option<(Option<String>, usize)> {
    let chars: Vec<char> = escape2null(s);
    let byte_at = |k: usize| byte_index_after(s, k);
    let colon_end = |k: usize| chars.get(k) == Some(&':') && (k + 1 == chars.len() || chars[k + 1] == ' ');
    if chars.get(1) == Some(&'_') {
        let k = if chars.get(2) == Some(&' ') { 3 } else { 2 };
        return colon_end(k).then(|| (None, byte_at(k + 1)));
    }
    let quote = chars.get(1) == Some(&'`');
    let start = if quote { 2 } else { 1 };
    if chars.get(start).is_none_or(|c| *c == ' ' || *c == '`') {
        return None;
    }
    let ok_last = |c: char| !(c.is_whitespace() || c == '\0');
    for c in start + 1..chars.len() {
        if !colon_end(c) {
            continue;
        }
        // An optional space before the colon.
        for e in [c, c.saturating_sub(1)] {
            if e < c && chars[e] != ' ' {
                continue;
            }
            let (name_end, close) = if quote { (e.saturating_sub(1), e) } else { (e, e) };
            if name_end <= start || (quote && chars.get(close.wrapping_sub(1)) != Some(&'`')) {
                continue;
            }
            let last = chars[name_end - 1];
            if !ok_last(last) {
                continue;
            }
            if !quote && last == ':' && !(name_end >= 2 && chars[name_end - 2] == '\0') {
                continue;
            }
            let name: String = chars[start..name_end].iter().filter(|&&c| c != '\0').collect();
            return Some((Some(name), byte_at(c + 1)));
        }
    }
    None
}

/// Byte index in `s` after the first `n` escape2null characters.
fn byte_index_after(s: &str, n: usize) -> usize {
    let mut count = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if count == n {
            return i;
        }
        if c == '\\' {
            // `\x` becomes two characters (NUL, x), `\` at the end one.
            if let Some((_, _)) = it.next() {
                count += 2;
                if count > n {
                    return i;
                }
                continue;
            }
        }
        count += 1;
    }
    s.len()
}

// ---- Directives ------------------------------------------------------------------------

/// The items of a bullet list at the top of `lines` (all of it): each item's lines, dedented;
/// `None` if `lines` is not exactly one bullet list.
fn bullet_items<'a>(lines: &[L<'a>]) -> Option<Vec<Vec<L<'a>>>> {
    let lines = trim_top(lines);
    let first = lines.first()?;
    let c = first.t.chars().next()?;
    bullet(first.t)?;
    let mut items = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        let t = lines[k].t;
        if t.is_empty() {
            k += 1;
            continue;
        }
        let end = bullet(t).filter(|_| t.starts_with(c))?;
        let mode = if t.len() > end { Indent::Known(end) } else { Indent::First(end) };
        let (block, _) = get_indented(lines, k, mode, false);
        k += block.len().max(1);
        items.push(strip_block(&block, mode));
    }
    Some(items)
}

/// docutils' check of a `list-table` body: one bullet list of bullet lists of equal length.
fn list_table_shape(content: &[L<'_>]) -> Option<String> {
    let Some(rows) = bullet_items(content) else { return Some("exactly one bullet list expected".into()) };
    let mut width = None;
    for (r, row) in rows.iter().enumerate() {
        let Some(cells) = bullet_items(row) else {
            return Some(format!("two-level bullet list expected, but row {} does not contain a second-level bullet list", r + 1));
        };
        match width {
            None => width = Some(cells.len()),
            Some(w) if w != cells.len() => {
                return Some(format!(
                    "uniform two-level bullet list expected, but row {} does not contain the same number of items as row 1 ({} vs {})",
                    r + 1,
                    cells.len(),
                    w
                ))
            }
            _ => {}
        }
    }
    None
}

#[derive(Clone, Copy)]
enum Opt {
    Flag,
    Any,
    Required,
    Choice(&'static [&'static str]),
    Int,
    /// docutils' `percentage`: an integer, `%` optional.
    Percent,
    Length,
}

struct Spec {
    required: usize,
    optional: usize,
    final_ws: bool,
    content: bool,
    options: &'static [(&'static str, Opt)],
}

const CLASS_NAME: &[(&str, Opt)] = &[("class", Opt::Required), ("name", Opt::Any)];
const ALIGN_IMG: &[&str] = &["top", "middle", "bottom", "left", "center", "right"];
const IMAGE_OPTS: &[(&str, Opt)] = &[
    ("alt", Opt::Any),
    ("height", Opt::Length),
    ("width", Opt::Length),
    ("scale", Opt::Percent),
    ("align", Opt::Choice(ALIGN_IMG)),
    ("target", Opt::Required),
    ("loading", Opt::Choice(&["embed", "link", "lazy"])),
    ("class", Opt::Required),
    ("name", Opt::Any),
];
const FIGURE_OPTS: &[(&str, Opt)] = &[
    ("alt", Opt::Any),
    ("height", Opt::Length),
    ("width", Opt::Length),
    ("scale", Opt::Percent),
    ("align", Opt::Choice(&["left", "center", "right"])),
    ("target", Opt::Required),
    ("loading", Opt::Choice(&["embed", "link", "lazy"])),
    ("class", Opt::Required),
    ("name", Opt::Any),
    ("figwidth", Opt::Any),
    ("figclass", Opt::Required),
];
const CODE_OPTS: &[(&str, Opt)] = &[("class", Opt::Required), ("name", Opt::Any), ("number-lines", Opt::Any)];
const TABLE_OPTS: &[(&str, Opt)] =
    &[("class", Opt::Required), ("name", Opt::Any), ("align", Opt::Choice(&["left", "center", "right"])), ("width", Opt::Length), ("widths", Opt::Any)];
const CSV_OPTS: &[(&str, Opt)] = &[
    ("header-rows", Opt::Int),
    ("stub-columns", Opt::Int),
    ("header", Opt::Any),
    ("width", Opt::Length),
    ("widths", Opt::Any),
    ("file", Opt::Required),
    ("url", Opt::Required),
    ("encoding", Opt::Required),
    ("class", Opt::Required),
    ("name", Opt::Any),
    ("align", Opt::Choice(&["left", "center", "right"])),
    ("delim", Opt::Required),
    ("keepspace", Opt::Flag),
    ("quote", Opt::Required),
    ("escape", Opt::Required),
];
const LIST_TABLE_OPTS: &[(&str, Opt)] = &[
    ("header-rows", Opt::Int),
    ("stub-columns", Opt::Int),
    ("width", Opt::Length),
    ("widths", Opt::Any),
    ("class", Opt::Required),
    ("name", Opt::Any),
    ("align", Opt::Choice(&["left", "center", "right"])),
];
const CONTENTS_OPTS: &[(&str, Opt)] =
    &[("depth", Opt::Int), ("local", Opt::Flag), ("backlinks", Opt::Choice(&["top", "entry", "none"])), ("class", Opt::Required)];
const SECTNUM_OPTS: &[(&str, Opt)] = &[("depth", Opt::Int), ("start", Opt::Int), ("prefix", Opt::Any), ("suffix", Opt::Any)];
const RAW_OPTS: &[(&str, Opt)] = &[("file", Opt::Required), ("url", Opt::Required), ("encoding", Opt::Required), ("class", Opt::Required)];
const INCLUDE_OPTS: &[(&str, Opt)] = &[
    ("literal", Opt::Flag),
    ("code", Opt::Any),
    ("encoding", Opt::Required),
    ("parser", Opt::Any),
    ("tab-width", Opt::Int),
    ("start-line", Opt::Int),
    ("end-line", Opt::Int),
    ("start-after", Opt::Required),
    ("end-before", Opt::Required),
    ("number-lines", Opt::Any),
    ("class", Opt::Required),
    ("name", Opt::Any),
];
const SIDEBAR_OPTS: &[(&str, Opt)] = &[("subtitle", Opt::Required), ("class", Opt::Required), ("name", Opt::Any)];
const UNICODE_OPTS: &[(&str, Opt)] = &[("trim", Opt::Flag), ("ltrim", Opt::Flag), ("rtrim", Opt::Flag)];
const ROLE_OPTS: &[(&str, Opt)] = &[("class", Opt::Any), ("format", Opt::Any), ("language", Opt::Any), ("prefix", Opt::Any), ("suffix", Opt::Any)];
const MATH_OPTS: &[(&str, Opt)] = &[("class", Opt::Required), ("name", Opt::Any)];
const NONE: &[(&str, Opt)] = &[];

fn directive_spec(name: &str) -> Spec {
    let s = |required, optional, final_ws, content, options| Spec { required, optional, final_ws, content, options };
    match name {
        "attention" | "caution" | "danger" | "error" | "hint" | "important" | "note" | "tip" | "warning" => s(0, 0, false, true, CLASS_NAME),
        "admonition" => s(1, 0, true, true, CLASS_NAME),
        "sidebar" => s(0, 1, true, true, SIDEBAR_OPTS),
        "topic" => s(1, 0, true, true, CLASS_NAME),
        "line-block" | "parsed-literal" => s(0, 0, false, true, CLASS_NAME),
        "code" | "code-block" | "sourcecode" => s(0, 1, false, true, CODE_OPTS),
        "math" => s(0, 1, true, true, MATH_OPTS),
        "rubric" => s(1, 0, true, false, CLASS_NAME),
        "epigraph" | "highlights" | "pull-quote" => s(0, 0, false, true, NONE),
        "compound" | "container" => {
            s(0, if name == "container" { 1 } else { 0 }, true, true, if name == "container" { &[("name", Opt::Any)] } else { CLASS_NAME })
        }
        "table" => s(0, 1, true, true, TABLE_OPTS),
        "csv-table" => s(0, 1, true, true, CSV_OPTS),
        "list-table" => s(0, 1, true, true, LIST_TABLE_OPTS),
        "image" => s(1, 0, true, false, IMAGE_OPTS),
        "figure" => s(1, 0, true, true, FIGURE_OPTS),
        "contents" => s(0, 1, true, false, CONTENTS_OPTS),
        "sectnum" | "section-numbering" => s(0, 0, false, false, SECTNUM_OPTS),
        "header" | "footer" => s(0, 0, false, true, NONE),
        "target-notes" => s(0, 0, false, false, CLASS_NAME),
        "meta" => s(0, 0, false, true, NONE),
        "replace" => s(0, 0, false, true, NONE),
        "unicode" => s(1, 0, true, false, UNICODE_OPTS),
        "date" => s(0, 1, true, false, NONE),
        "class" => s(1, 0, true, true, NONE),
        "role" => s(1, 0, true, false, ROLE_OPTS),
        "default-role" => s(0, 1, false, false, NONE),
        "title" => s(1, 0, true, false, NONE),
        "raw" => s(1, 0, true, true, RAW_OPTS),
        "include" => s(1, 0, true, false, INCLUDE_OPTS),
        _ => s(0, 0, true, true, NONE),
    }
}

fn parse_options(block: &[L<'_>]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut k = 0;
    while k < block.len() {
        let l = block[k].t;
        let Some(end) = field_marker(l) else {
            return Err("invalid option block".into());
        };
        let name = field_name(l, end);
        let mut value = vec![l[end..].to_string()];
        k += 1;
        while k < block.len() && field_marker(block[k].t).is_none() {
            if !block[k].t.starts_with(' ') {
                return Err("invalid option block".into());
            }
            value.push(block[k].t.trim().to_string());
            k += 1;
        }
        let name = name.to_lowercase();
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("duplicate option \"{name}\""));
        }
        out.push((name, value.join("\n").trim().to_string()));
    }
    Ok(out)
}

fn check_option(kind: &Opt, v: &str, in_subst_image: bool) -> Option<String> {
    match kind {
        Opt::Flag => (!v.is_empty()).then(|| format!("no argument is allowed; \"{v}\" supplied")),
        Opt::Any => None,
        Opt::Required => v.is_empty().then(|| "argument required but none supplied".into()),
        Opt::Choice(choices) => {
            let l = v.to_lowercase();
            let l = l.trim();
            if in_subst_image {
                return (!choices.contains(&l)).then(|| format!("\"{v}\" unknown"));
            }
            if choices == &ALIGN_IMG {
                return (!["left", "center", "right"].contains(&l)).then(|| format!("\"{v}\" unknown"));
            }
            (!choices.contains(&l)).then(|| format!("\"{v}\" unknown"))
        }
        Opt::Int => (v.trim().parse::<u64>().is_err()).then(|| "must be a non-negative integer".into()),
        Opt::Percent => (v.trim_end_matches([' ', '%']).trim().parse::<u64>().is_err()).then(|| "must be a non-negative integer".into()),
        Opt::Length => {
            let t = v.trim();
            let num_end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
            let (num, unit) = t.split_at(num_end);
            let unit = unit.trim();
            let ok_num = !num.is_empty() && num.parse::<f64>().is_ok();
            let ok_unit = matches!(unit, "" | "em" | "ex" | "px" | "in" | "cm" | "mm" | "pt" | "pc" | "%" | "ch" | "rem" | "vw" | "vh" | "vmin" | "vmax" | "Q");
            (!(ok_num && ok_unit)).then(|| "not a valid length".into())
        }
    }
}

// ---- Grid tables -----------------------------------------------------------------------

/// docutils' `GridTableParser` over the padded table rows: the cells' text lines (inside
/// the borders, with their line numbers), or an error (the table is malformed).
fn parse_grid(rows: &[Vec<char>], numbers: &[u32]) -> Result<Vec<Vec<(String, u32)>>, ()> {
    let h = rows.len();
    let w = rows[0].len();
    if h * w > 400_000 {
        // Too big to trace cell by cell within the time budget; the borders were checked.
        return Ok(Vec::new());
    }
    let mut grid: Vec<Vec<char>> = rows.to_vec();
    // The head/body separator (`+===+`) is traced like a `-` border, once.
    let is_sep = |r: &[char]| {
        r.len() >= 3 && r[0] == '+' && r[1] == '=' && r[r.len() - 1] == '+' && r[r.len() - 2] == '=' && r[1..r.len() - 1].iter().all(|c| *c == '=' || *c == '+')
    };
    let seps: Vec<usize> = (0..h).filter(|&r| is_sep(&grid[r])).collect();
    if seps.len() > 1 || seps.first().is_some_and(|&r| r == h - 1) {
        return Err(());
    }
    for &r in &seps {
        for c in grid[r].iter_mut() {
            if *c == '=' {
                *c = '-';
            }
        }
    }
    let bottom = h - 1;
    let right = w - 1;
    let at = |r: usize, c: usize| grid[r][c];
    let mut done: Vec<isize> = vec![-1; w];
    let mut corners = vec![(0usize, 0usize)];
    let mut cells = Vec::new();
    while !corners.is_empty() {
        let (top, left) = corners.remove(0);
        if top == bottom || left == right || top as isize <= done[left] {
            continue;
        }
        let Some((b, r)) = scan_cell(&at, top, left, bottom, right) else { continue };
        for d in done.iter_mut().take(r).skip(left) {
            if *d != top as isize - 1 {
                return Err(());
            }
            *d = b as isize - 1;
        }
        let mut cell = Vec::new();
        for row in top + 1..b {
            let text: String = grid[row][left + 1..r].iter().filter(|&&c| c != '\0').collect();
            cell.push((rstrip(&text).to_string(), numbers[row]));
        }
        cells.push(cell);
        corners.push((top, r));
        corners.push((b, left));
        corners.sort();
    }
    if done[..right].iter().any(|&d| d != bottom as isize - 1) {
        return Err(());
    }
    Ok(cells)
}

/// docutils' `SimpleTableParser` over padded rows: cells' lines, or why it is malformed.
fn parse_simple(block: &[Vec<char>], numbers: &[u32]) -> Result<Vec<Vec<(String, u32)>>, String> {
    let mut rows: Vec<Vec<char>> = block.to_vec();
    let last = rows.len() - 1;
    for r in [0, last] {
        for c in rows[r].iter_mut() {
            if *c == '=' {
                *c = '-';
            }
        }
    }
    let is_sep = |r: &[char]| r.first() == Some(&'=') && r.iter().all(|c| *c == '=' || *c == ' ');
    let seps: Vec<usize> = (0..rows.len()).filter(|&k| is_sep(&rows[k])).collect();
    if seps.len() > 1 {
        return Err(format!("Multiple head/body row separators (table lines {} and {}); only one allowed.", seps[0] + 1, seps[1] + 1));
    }
    for &k in &seps {
        for c in rows[k].iter_mut() {
            if *c == '=' {
                *c = '-';
            }
        }
    }
    let parse_columns = |line: &[char]| -> Vec<(usize, usize)> {
        let mut cols = Vec::new();
        let mut endc = 0;
        while let Some(begin) = line[endc.min(line.len())..].iter().position(|&c| c == '-').map(|p| p + endc) {
            let e = line[begin..].iter().position(|&c| c == ' ').map_or(line.len(), |p| p + begin);
            cols.push((begin, e));
            endc = e;
        }
        cols
    };
    let mut columns = parse_columns(&rows[0]);
    if columns.is_empty() {
        return Err("No columns.".into());
    }
    let border_end = columns[columns.len() - 1].1;
    let (fs, fe) = columns[0];
    let is_span = |r: &[char]| r.first() == Some(&'-') && r.iter().all(|c| *c == '-' || *c == ' ');
    let mut cells = Vec::new();
    let mut parse_row = |rows: &[Vec<char>], start: usize, stop: usize, span: Option<usize>, columns: &mut Vec<(usize, usize)>| -> Result<(), String> {
        if start >= stop && span.is_none() {
            return Ok(());
        }
        let mut cols = match span {
            Some(s) => {
                let mut c = parse_columns(&rows[s]);
                if c.last().map(|x| x.1) != Some(border_end) {
                    return Err(format!("Column span incomplete in table line {}.", s + 1));
                }
                let l = c.len() - 1;
                c[l].1 = columns[columns.len() - 1].1;
                // Spans must start on column starts and end on column ends.
                let mut ci = 0;
                for &(b, e) in &c {
                    if columns.get(ci).map(|x| x.0) != Some(b) {
                        return Err(format!("Column span alignment problem in table line {}.", start + 1));
                    }
                    while columns.get(ci).is_some_and(|x| x.1 != e) {
                        ci += 1;
                    }
                    if ci >= columns.len() {
                        return Err(format!("Column span alignment problem in table line {}.", start + 1));
                    }
                    ci += 1;
                }
                c
            }
            None => columns.clone(),
        };
        let lastcol = cols.len() - 1;
        for ci in 0..cols.len() {
            let (b, e) = cols[ci];
            let next = cols.get(ci + 1).map_or(usize::MAX, |x| x.0);
            for (off, line) in rows[start..stop].iter().enumerate() {
                let tail_nonblank = |from: usize, to: usize| line.iter().take(to.min(line.len())).skip(from).any(|c| !c.is_whitespace() && *c != '\0');
                if ci == lastcol && tail_nonblank(e, usize::MAX) {
                    let trimmed = line[b.min(line.len())..].iter().rev().skip_while(|c| c.is_whitespace()).count();
                    let new_end = b + trimmed;
                    cols[ci].1 = cols[ci].1.max(new_end);
                    let l = columns.len() - 1;
                    if new_end > columns[l].1 {
                        columns[l].1 = new_end;
                    }
                } else if tail_nonblank(e, next) {
                    return Err(format!("Text in column margin in table line {}.", start + off + 1));
                }
            }
        }
        for &(b, e) in &cols {
            let cell: Vec<(String, u32)> = (start..stop)
                .map(|r| {
                    let line = &rows[r];
                    let t: String = line[b.min(line.len())..e.min(line.len())].iter().filter(|&&c| c != '\0').collect();
                    (rstrip(&t).to_string(), numbers[r])
                })
                .collect();
            cells.push(cell);
        }
        Ok(())
    };
    let mut start = 1;
    let mut text_found = false;
    let mut offset = 1;
    while offset < rows.len() {
        let line = &rows[offset];
        if is_span(line) {
            parse_row(&rows, start, offset, Some(offset), &mut columns)?;
            start = offset + 1;
            text_found = false;
        } else if line.iter().take(fe.min(line.len())).skip(fs).any(|c| !c.is_whitespace()) {
            if text_found && offset != start {
                parse_row(&rows, start, offset, None, &mut columns)?;
            }
            start = offset;
            text_found = true;
        } else if !text_found {
            start = offset + 1;
        }
        offset += 1;
    }
    Ok(cells)
}

fn scan_cell(at: &dyn Fn(usize, usize) -> char, top: usize, left: usize, bottom: usize, right: usize) -> Option<(usize, usize)> {
    if at(top, left) != '+' {
        return None;
    }
    for i in left + 1..=right {
        match at(top, i) {
            '+' => {
                if let Some(b) = scan_down(at, top, left, i, bottom) {
                    return Some((b, i));
                }
            }
            '-' => {}
            _ => return None,
        }
    }
    None
}

fn scan_down(at: &dyn Fn(usize, usize) -> char, top: usize, left: usize, right: usize, bottom: usize) -> Option<usize> {
    for i in top + 1..=bottom {
        match at(i, right) {
            '+' => {
                if scan_left(at, top, left, i, right) {
                    return Some(i);
                }
            }
            '|' => {}
            _ => return None,
        }
    }
    None
}

fn scan_left(at: &dyn Fn(usize, usize) -> char, top: usize, left: usize, bottom: usize, right: usize) -> bool {
    if !(left + 1..right).all(|i| matches!(at(bottom, i), '-' | '+')) || at(bottom, left) != '+' {
        return false;
    }
    (top + 1..bottom).all(|i| matches!(at(i, left), '|' | '+'))
}

// ---- Inline helpers --------------------------------------------------------------------

/// `\x` becomes NUL + `x` (docutils' escape2null), as chars.
fn escape2null(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    let mut it = text.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            out.push('\0');
            match it.next() {
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                if n != ' ' && n != '\n' {
                    out.push(n);
                }
            }
        } else if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn whitespace_normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalize_name(s: &str) -> String {
    whitespace_normalize(s).to_lowercase()
}

/// Start-string prefix: start of text, whitespace, or an opener/delimiter character.
fn start_ok(prev: Option<char>) -> bool {
    match prev {
        None => true,
        Some(c) => c.is_whitespace() || is_opener(c) || is_delimiter(c),
    }
}

/// End-string suffix: end of text, whitespace, NUL, or closing delimiters/closers.
fn end_ok(next: Option<char>) -> bool {
    match next {
        None => true,
        Some(c) => c.is_whitespace() || c == '\0' || is_closing_delimiter(c) || is_delimiter(c) || is_closer(c),
    }
}

/// Finds the end-string `end` from `from`: preceded by non-whitespace (and, unless
/// `literal`, not escaped), followed by an end-string suffix. Returns its index.
fn find_end(chars: &[char], from: usize, end: &str, literal: bool) -> Option<usize> {
    let e: Vec<char> = end.chars().collect();
    let mut k = from;
    while k + e.len() <= chars.len() {
        if chars[k..k + e.len()] == e[..] && k > from {
            let prev = chars[k - 1];
            let ok_prev = !prev.is_whitespace() && (literal || prev != '\0');
            if ok_prev && end_ok(chars.get(k + e.len()).copied()) {
                // For `*`, `**` must not be taken as the end of emphasis' `*` at its start.
                return Some(k);
            }
        }
        k += 1;
    }
    None
}

fn find_subst_end(chars: &[char], from: usize) -> Option<(usize, usize)> {
    let mut k = from + 1;
    while k < chars.len() {
        if chars[k] == '|' {
            let prev = chars[k - 1];
            if !prev.is_whitespace() && prev != '\0' {
                let suffix = if chars.get(k + 1) == Some(&'_') {
                    if chars.get(k + 2) == Some(&'_') {
                        2
                    } else {
                        1
                    }
                } else {
                    0
                };
                if end_ok(chars.get(k + 1 + suffix).copied()) {
                    return Some((k, suffix));
                }
                if suffix > 0 && end_ok(chars.get(k + 1).copied()) {
                    return Some((k, 0));
                }
            }
        }
        k += 1;
    }
    None
}

/// The end of interpreted text / phrase reference from `from`: `` ` `` + optional
/// `:role:` + optional `_`/`__`. Returns (index of the backquote, suffix role, refend length).
fn find_interpreted_end(chars: &[char], from: usize) -> Option<(usize, Option<String>, usize)> {
    let mut k = from + 1;
    while k < chars.len() {
        if chars[k] == '`' {
            let prev = chars[k - 1];
            let escaped_ws = prev.is_whitespace() && !(k >= 2 && chars[k - 2] == '\0');
            if !(escaped_ws || prev == '\0') {
                // Suffix: role or reference end.
                let mut m = k + 1;
                let mut role = None;
                if chars.get(m) == Some(&':') {
                    let n = simplename_len(chars, m + 1);
                    if n > 0 && chars.get(m + 1 + n) == Some(&':') {
                        role = Some(chars[m + 1..m + 1 + n].iter().collect());
                        m += n + 2;
                    }
                }
                let mut refend = 0;
                if role.is_none() && chars.get(m) == Some(&'_') {
                    refend = if chars.get(m + 1) == Some(&'_') { 2 } else { 1 };
                }
                if end_ok(chars.get(m + refend).copied()) {
                    return Some((k, role, refend));
                }
                // Try without the suffix.
                if (role.is_some() || refend > 0) && end_ok(chars.get(k + 1).copied()) {
                    return Some((k, None, 0));
                }
            }
        }
        k += 1;
    }
    None
}

/// `:role:` followed by a backquote at `i`; returns (role, index of the backquote).
fn role_prefix(chars: &[char], i: usize) -> Option<(String, usize)> {
    let n = simplename_len(chars, i + 1);
    if n == 0 || chars.get(i + 1 + n) != Some(&':') || chars.get(i + 2 + n) != Some(&'`') {
        return None;
    }
    Some((chars[i + 1..i + 1 + n].iter().collect(), i + 2 + n))
}

/// `name_` / `name__` at `i` (already at a valid start): (end, anonymous, name).
fn simple_ref(chars: &[char], i: usize, last: &mut (usize, usize)) -> Option<(usize, bool, String)> {
    if !is_word(chars[i]) || chars[i] == '_' {
        return None;
    }
    // Inside the simplename found last, a later start ends where it ended.
    let e = if i > last.0 && i < last.1 {
        last.1
    } else {
        let n = simplename_len(chars, i);
        if n == 0 {
            return None;
        }
        *last = (i, i + n);
        i + n
    };
    if chars.get(e) != Some(&'_') {
        return None;
    }
    let anon = chars.get(e + 1) == Some(&'_');
    let end = e + if anon { 2 } else { 1 };
    if !end_ok(chars.get(end).copied()) {
        return None;
    }
    Some((end, anon, chars[i..e].iter().collect()))
}

/// `[label]_` at `i`: (end, label).
fn footnote_ref(chars: &[char], i: usize, next_close: &mut Cache<usize>) -> Option<(usize, String)> {
    let close = next_close.get(i + 1, |f| chars[f..].iter().position(|&c| c == ']').map(|p| p + f))?;
    let label: String = chars[i + 1..close].iter().collect();
    if chars.get(close + 1) != Some(&'_') {
        return None;
    }
    if footnote_label(&label).is_none() && !is_simplename(&label) {
        return None;
    }
    if !end_ok(chars.get(close + 2).copied()) {
        return None;
    }
    Some((close + 2, label))
}

/// Splits `` text <target> `` into (text, target) when the text ends in an embedded link.
fn embedded(s: &str) -> Option<(&str, &str)> {
    if !s.ends_with('>') {
        return None;
    }
    let open = s.rfind('<')?;
    let target = &s[open + 1..s.len() - 1];
    if target.is_empty() || target.contains(['<', '>']) || target.starts_with(char::is_whitespace) || target.ends_with(|c: char| c.is_whitespace() || c == '\0')
    {
        return None;
    }
    let before = &s[..open];
    if !(before.is_empty() || before.ends_with([' ', '\n'])) {
        return None;
    }
    Some((before.trim_end(), target))
}

fn looks_like_uri(s: &str) -> bool {
    let scheme_end = s.find(':');
    match scheme_end {
        Some(k) if k > 0 => {
            let scheme = &s[..k];
            scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
                && s.len() > k + 1
        }
        _ => s.contains('@') && s.contains('.'),
    }
}

// ---- Indentation -----------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Indent {
    /// Minimum indentation of the block (docutils' `get_indented`).
    Unknown,
    /// The first line is cut at this column, the rest dedented by their minimum.
    First(usize),
    /// Every line must be indented at least this much (`get_known_indented`).
    Known(usize),
}

/// docutils' `StringList.get_indented` from `lines[i]`: the block (not yet dedented) and
/// whether it ended properly (at a blank line or the end).
fn get_indented<'a>(lines: &[L<'a>], i: usize, mode: Indent, until_blank: bool) -> (Vec<L<'a>>, bool) {
    let mut end = i;
    // Markers are found as byte offsets in the first line; indentation is in columns.
    let block_indent = match mode {
        Indent::Known(k) => Some(lines[i].t.get(..k).map_or(k, |p| p.chars().count())),
        _ => None,
    };
    if !matches!(mode, Indent::Unknown) {
        end += 1;
    }
    let mut blank_finish = true;
    while end < lines.len() {
        let t = lines[end].t;
        let insufficient = block_indent.is_some_and(|k| t.len() < k || !t.as_bytes()[..k].iter().all(|&b| b == b' '));
        if !t.is_empty() && (!t.starts_with(' ') || insufficient) {
            blank_finish = end > i && lines[end - 1].t.trim().is_empty();
            break;
        }
        if t.trim().is_empty() && until_blank {
            blank_finish = true;
            break;
        }
        end += 1;
    }
    (lines[i..end].to_vec(), blank_finish)
}

/// Cuts the first line at the marker and dedents the rest as docutils does.
fn strip_block<'a>(block: &[L<'a>], mode: Indent) -> Vec<L<'a>> {
    let mut out: Vec<L<'a>> = Vec::with_capacity(block.len());
    match mode {
        Indent::Known(k) => {
            let cols = block.first().and_then(|f| f.t.get(..k)).map_or(k, |p| p.chars().count());
            for (idx, l) in block.iter().enumerate() {
                let cut = if idx == 0 { k } else { cols };
                out.push(L { t: l.t.get(cut..).unwrap_or(""), n: l.n });
            }
        }
        Indent::First(k) => {
            if let Some(f) = block.first() {
                out.push(L { t: f.t.get(k..).unwrap_or(""), n: f.n });
            }
            let rest = dedent(&block[1.min(block.len())..]);
            out.extend(rest);
        }
        Indent::Unknown => out = dedent(block),
    }
    out
}

/// Removes the least indentation of the non-blank lines.
fn dedent<'a>(block: &[L<'a>]) -> Vec<L<'a>> {
    let min = block.iter().filter(|l| !l.t.trim().is_empty()).map(|l| l.t.len() - l.t.trim_start_matches(' ').len()).min().unwrap_or(0);
    block.iter().map(|l| L { t: if l.t.len() >= min { &l.t[min..] } else { "" }, n: l.n }).collect()
}

fn trim_top<'a, 'b>(block: &'b [L<'a>]) -> &'b [L<'a>] {
    let k = block.iter().position(|l| !l.t.trim().is_empty()).unwrap_or(block.len());
    &block[k..]
}

// ---- Character classes -----------------------------------------------------------------

/// docutils' East Asian width rules: wide and full-width characters count twice,
/// combining characters not at all.
fn column_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if is_combining(u) {
                0
            } else if is_wide(u) {
                2
            } else {
                1
            }
        })
        .sum()
}

fn is_combining(u: u32) -> bool {
    matches!(u, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F | 0x0E31 | 0x0E34..=0x0E3A | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn is_wide(u: u32) -> bool {
    matches!(u,
        0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE
        | 0x2614..=0x2615 | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD | 0x2705
        | 0x270A..=0x270B | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27B0
        | 0x27BF | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19
        | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x16FE0..=0x18CFF | 0x1B000..=0x1B2FF
        | 0x1F004 | 0x1F0CF | 0x1F18E | 0x1F191..=0x1F19A | 0x1F200..=0x1F251 | 0x1F300..=0x1F320
        | 0x1F32D..=0x1F335 | 0x1F337..=0x1F37C | 0x1F37E..=0x1F393 | 0x1F3A0..=0x1F3CA | 0x1F3CF..=0x1F3D3
        | 0x1F3E0..=0x1F3F0 | 0x1F3F4 | 0x1F3F8..=0x1F43E | 0x1F440 | 0x1F442..=0x1F4FC | 0x1F4FF..=0x1F53D
        | 0x1F54B..=0x1F54E | 0x1F550..=0x1F567 | 0x1F57A | 0x1F595..=0x1F596 | 0x1F5A4 | 0x1F5FB..=0x1F64F
        | 0x1F680..=0x1F6C5 | 0x1F6CC | 0x1F6D0..=0x1F6D2 | 0x1F6D5..=0x1F6D7 | 0x1F6DC..=0x1F6DF | 0x1F6EB..=0x1F6EC
        | 0x1F6F4..=0x1F6FC | 0x1F7E0..=0x1F7EB | 0x1F7F0 | 0x1F90C..=0x1F93A | 0x1F93C..=0x1F945 | 0x1F947..=0x1F9FF
        | 0x1FA70..=0x1FAFF | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD)
}

const OPENERS: &str = "\"'(<\\[{\u{f3a}\u{f3c}\u{169b}\u{2045}\u{207d}\u{208d}\u{2329}\u{2768}\u{276a}\u{276c}\u{276e}\u{2770}\u{2772}\u{2774}\u{27c5}\u{27e6}\u{27e8}\u{27ea}\u{27ec}\u{27ee}\u{2983}\u{2985}\u{2987}\u{2989}\u{298b}\u{298d}\u{298f}\u{2991}\u{2993}\u{2995}\u{2997}\u{29d8}\u{29da}\u{29fc}\u{2e22}\u{2e24}\u{2e26}\u{2e28}\u{3008}\u{300a}\u{300c}\u{300e}\u{3010}\u{3014}\u{3016}\u{3018}\u{301a}\u{301d}\u{301d}\u{fd3e}\u{fe17}\u{fe35}\u{fe37}\u{fe39}\u{fe3b}\u{fe3d}\u{fe3f}\u{fe41}\u{fe43}\u{fe47}\u{fe59}\u{fe5b}\u{fe5d}\u{ff08}\u{ff3b}\u{ff5b}\u{ff5f}\u{ff62}\u{ab}\u{2018}\u{201c}\u{2039}\u{2e02}\u{2e04}\u{2e09}\u{2e0c}\u{2e1c}\u{2e20}\u{201a}\u{201e}\u{bb}\u{2019}\u{201d}\u{203a}\u{2e03}\u{2e05}\u{2e0a}\u{2e0d}\u{2e1d}\u{2e21}\u{201b}\u{201f}";
const CLOSERS: &str = "\"')>\\]}\u{f3b}\u{f3d}\u{169c}\u{2046}\u{207e}\u{208e}\u{232a}\u{2769}\u{276b}\u{276d}\u{276f}\u{2771}\u{2773}\u{2775}\u{27c6}\u{27e7}\u{27e9}\u{27eb}\u{27ed}\u{27ef}\u{2984}\u{2986}\u{2988}\u{298a}\u{298c}\u{298e}\u{2990}\u{2992}\u{2994}\u{2996}\u{2998}\u{29d9}\u{29db}\u{29fd}\u{2e23}\u{2e25}\u{2e27}\u{2e29}\u{3009}\u{300b}\u{300d}\u{300f}\u{3011}\u{3015}\u{3017}\u{3019}\u{301b}\u{301e}\u{301f}\u{fd3f}\u{fe18}\u{fe36}\u{fe38}\u{fe3a}\u{fe3c}\u{fe3e}\u{fe40}\u{fe42}\u{fe44}\u{fe48}\u{fe5a}\u{fe5c}\u{fe5e}\u{ff09}\u{ff3d}\u{ff5d}\u{ff60}\u{ff63}\u{bb}\u{2019}\u{201d}\u{203a}\u{2e03}\u{2e05}\u{2e0a}\u{2e0d}\u{2e1d}\u{2e21}\u{201b}\u{201f}\u{ab}\u{2018}\u{201c}\u{2039}\u{2e02}\u{2e04}\u{2e09}\u{2e0c}\u{2e1c}\u{2e20}\u{201a}\u{201e}";

fn is_opener(c: char) -> bool {
    OPENERS.contains(c)
}

fn is_closer(c: char) -> bool {
    CLOSERS.contains(c)
}

fn is_closing_delimiter(c: char) -> bool {
    matches!(c, '\\' | '.' | ',' | ';' | '!' | '?')
}

/// docutils' `punctuation_chars.delimiters` (generated from docutils 0.23).
fn is_delimiter(c: char) -> bool {
    let u = c as u32;
    DELIMITERS.iter().any(|&(a, b)| u >= a && u <= b)
}

include!("rst_delimiters.rs");

fn match_chars(c1: char, c2: char) -> bool {
    let Some(i) = OPENERS.chars().position(|c| c == c1) else { return false };
    if CLOSERS.chars().nth(i) == Some(c2) {
        return true;
    }
    // docutils' quote_pairs: quotes that may close in several ways.
    let pairs: &[(char, &str)] = &[
        ('\u{bb}', "\u{bb}"),
        ('\u{2018}', "\u{201a}"),
        ('\u{2019}', "\u{2019}"),
        ('\u{201a}', "\u{2018}\u{2019}"),
        ('\u{201c}', "\u{201e}"),
        ('\u{201e}', "\u{201c}\u{201d}"),
        ('\u{201d}', "\u{201d}"),
        ('\u{203a}', "\u{203a}"),
    ];
    pairs.iter().any(|(o, cs)| *o == c1 && cs.contains(c2))
}
