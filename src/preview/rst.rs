//! reStructuredText to HTML for the preview, for descriptions PyPI's checks accept.
//!
//! Not docutils: the constructs READMEs use (sections, paragraphs, bullet, enumerated,
//! definition and field lists, literal and code blocks, block quotes, line blocks, doctest
//! blocks, admonitions, images as placeholders, hyperlink targets and references,
//! substitutions, footnotes, the standard roles) become HTML; anything else (tables, rare
//! directives) is shown as the preformatted text it was written as. Every construct is found
//! by one forward pass with bounded nesting, and the output goes through
//! [`super::sanitize`] like every other HTML of the preview.

use std::collections::HashMap;

use super::{esc, escape_text, sanitize, split_lines};

/// Deepest nesting rendered as structure; deeper blocks are shown as text.
const MAX_DEPTH: usize = 30;

/// Renders `text` (which PyPI's RST check accepted) as sanitised HTML.
pub fn render(text: &str) -> String {
    let lines = split_lines(text);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut r = Renderer::default();
    r.collect(&lines);
    r.blocks(&lines, 0);
    sanitize(&r.out)
}

enum Subst {
    Text(String),
    Image { alt: String, target: Option<String> },
}

#[derive(Default)]
struct Renderer {
    out: String,
    /// Normalized target name → URI, or `name_` for an alias of another target.
    targets: HashMap<String, String>,
    anonymous: Vec<String>,
    anonymous_used: usize,
    substitutions: HashMap<String, Subst>,
    /// Section adornment styles in order of first use: (overlined, character).
    styles: Vec<(bool, char)>,
    /// Per end-string, the earliest position from which a search already failed (in the
    /// paragraph being scanned): no later search can succeed, so none scans again.
    failed: HashMap<&'static str, usize>,
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches(' ').len()
}

fn blank(l: &str) -> bool {
    l.trim().is_empty()
}

/// Lines from `from` on that are blank or indented by at least `min`; trailing blanks dropped.
fn block_end(lines: &[&str], from: usize, min: usize) -> usize {
    let mut end = from;
    let mut last = from;
    while end < lines.len() && (blank(lines[end]) || indent(lines[end]) >= min) {
        if !blank(lines[end]) {
            last = end + 1;
        }
        end += 1;
    }
    last
}

fn dedent<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let min = lines.iter().filter(|l| !blank(l)).map(|l| indent(l)).min().unwrap_or(0);
    lines.iter().map(|l| if blank(l) { "" } else { &l[min..] }).collect()
}

/// A list item's or field's lines: the text after its marker, then the lines below it, which
/// keep any indentation beyond the marker's width (as docutils' `get_first_known_indented`).
fn item<'a>(first: &'a str, rest: &[&'a str], width: usize) -> Vec<&'a str> {
    let strip = rest.iter().filter(|l| !blank(l)).map(|l| indent(l)).min().unwrap_or(0).min(width);
    std::iter::once(first).chain(rest.iter().map(|l| if blank(l) { "" } else { &l[strip..] })).collect()
}

fn trim_blank<'a, 'b>(mut lines: &'b [&'a str]) -> &'b [&'a str] {
    while lines.first().is_some_and(|l| blank(l)) {
        lines = &lines[1..];
    }
    while lines.last().is_some_and(|l| blank(l)) {
        lines = &lines[..lines.len() - 1];
    }
    lines
}

/// A line of one repeated punctuation character (a section adornment or a transition).
fn adornment(l: &str) -> Option<char> {
    let t = l.trim_end();
    let c = t.chars().next()?;
    (c.is_ascii_punctuation() && indent(l) == 0 && t.chars().all(|x| x == c)).then_some(c)
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn normalize(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The width of a bullet marker and its spaces.
fn bullet(l: &str) -> Option<usize> {
    let mut cs = l.chars();
    let c = cs.next()?;
    if !matches!(c, '*' | '+' | '-' | '•' | '‣' | '⁃') {
        return None;
    }
    let rest = cs.as_str();
    if rest.is_empty() {
        return Some(c.len_utf8());
    }
    rest.starts_with(' ').then(|| c.len_utf8() + indent(rest))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Seq {
    Arabic,
    Auto,
    Lower,
    Upper,
    LowerRoman,
    UpperRoman,
}

/// An enumerator: (marker width with its spaces, format, sequence, ordinal).
fn enumerator(l: &str) -> Option<(usize, u8, Seq, u64)> {
    let (body, format, open) = if let Some(rest) = l.strip_prefix('(') { (rest, b'(', 1) } else { (l, b'.', 0) };
    let close = body.find(['.', ')'])?;
    let format = match (format, body.as_bytes()[close]) {
        (b'(', b')') => b'(',
        (b'(', _) => return None,
        (_, c) => c,
    };
    let label = &body[..close];
    let (seq, ordinal) = sequence(label)?;
    let after = &body[close + 1..];
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some((open + close + 1 + indent(after), format, seq, ordinal))
}

fn sequence(label: &str) -> Option<(Seq, u64)> {
    if label == "#" {
        return Some((Seq::Auto, 1));
    }
    if !label.is_empty() && label.len() <= 9 && label.bytes().all(|b| b.is_ascii_digit()) {
        return Some((Seq::Arabic, label.parse().ok()?));
    }
    let single = label.len() == 1 && label.as_bytes()[0].is_ascii_alphabetic();
    if single && !matches!(label, "i" | "I") {
        let c = label.as_bytes()[0];
        return Some(if c.is_ascii_lowercase() { (Seq::Lower, u64::from(c - b'a') + 1) } else { (Seq::Upper, u64::from(c - b'A') + 1) });
    }
    let roman = |s: &str| -> Option<u64> {
        let mut total = 0u64;
        let mut prev = 0u64;
        for c in s.chars().rev() {
            let v = match c.to_ascii_lowercase() {
                'i' => 1,
                'v' => 5,
                'x' => 10,
                'l' => 50,
                'c' => 100,
                'd' => 500,
                'm' => 1000,
                _ => return None,
            };
            if v < prev {
                total = total.checked_sub(v)?;
            } else {
                total += v;
                prev = v;
            }
        }
        (total > 0 && label.len() <= 8).then_some(total)
    };
    if label.chars().all(|c| c.is_ascii_lowercase()) {
        return roman(label).map(|n| (Seq::LowerRoman, n));
    }
    if label.chars().all(|c| c.is_ascii_uppercase()) {
        return roman(label).map(|n| (Seq::UpperRoman, n));
    }
    None
}

/// `:name:` at the start of a field-list line: the byte length of the marker.
fn field_marker(l: &str) -> Option<usize> {
    let rest = l.strip_prefix(':')?;
    if rest.starts_with([' ', ':']) {
        return None;
    }
    let mut prev = ':';
    for (i, c) in rest.char_indices() {
        if c == ':' && prev != '\\' && prev != ' ' {
            let after = &rest[i + 1..];
            if after.is_empty() || after.starts_with(' ') {
                return Some(i + 2);
            }
        }
        prev = c;
    }
    None
}

/// `name::` at the start of an explicit markup line (after `.. `): the name and what follows.
fn directive(s: &str) -> Option<(String, &str)> {
    let i = s.find("::")?;
    let name = &s[..i];
    let ok = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:+".contains(c));
    let rest = &s[i + 2..];
    (ok && (rest.is_empty() || rest.starts_with(' '))).then(|| (name.to_ascii_lowercase(), rest.trim()))
}

/// Splits a directive's block into its options (`:name: value`) and content.
fn options_and_content<'a>(body: &[&'a str]) -> (HashMap<String, String>, Vec<&'a str>) {
    let mut opts = HashMap::new();
    let mut i = 0;
    while i < body.len() && !blank(body[i]) {
        let Some(m) = field_marker(body[i]) else { break };
        let name = body[i][1..m - 1].to_ascii_lowercase();
        let mut value = body[i][m..].trim().to_string();
        i += 1;
        while i < body.len() && !blank(body[i]) && indent(body[i]) > 0 {
            value.push(' ');
            value.push_str(body[i].trim());
            i += 1;
        }
        opts.insert(name, value);
    }
    (opts, trim_blank(&body[i..]).to_vec())
}

/// An URI as docutils keeps it: whitespace removed, escapes undone.
fn clean_uri(s: &str) -> String {
    s.split_whitespace().collect::<String>().replace('\\', "")
}

impl Renderer {
    /// Hyperlink targets and substitution definitions, anywhere: references may come first.
    fn collect(&mut self, lines: &[&str]) {
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let ind = indent(l);
            // A definition's continuation lines: indented deeper than its `..`.
            let cont = || {
                let mut v = Vec::new();
                for next in &lines[i + 1..] {
                    if blank(next) || indent(next) <= ind {
                        break;
                    }
                    v.push(next.trim());
                }
                v
            };
            if let Some(rest) = t.strip_prefix("__ ") {
                self.anonymous.push(clean_uri(&format!("{rest}{}", cont().concat())));
            } else if let Some(rest) = t.strip_prefix(".. __:") {
                self.anonymous.push(clean_uri(&format!("{rest}{}", cont().concat())));
            } else if let Some(rest) = t.strip_prefix(".. _") {
                let (name, uri) = if let Some(q) = rest.strip_prefix('`') {
                    let Some(end) = q.find("`:") else { continue };
                    (&q[..end], &q[end + 2..])
                } else {
                    let Some(end) = rest.find(": ").or_else(|| rest.ends_with(':').then(|| rest.len() - 1)) else { continue };
                    (&rest[..end], &rest[end + 1..])
                };
                let uri = clean_uri(&format!("{uri}{}", cont().concat()));
                if !uri.is_empty() {
                    self.targets.insert(normalize(&name.replace('\\', "")), uri);
                }
            } else if let Some(rest) = t.strip_prefix(".. |") {
                let Some(end) = rest.find('|') else { continue };
                let name = normalize(&rest[..end]);
                let Some((kind, arg)) = directive(rest[end + 1..].trim_start()) else { continue };
                let body: Vec<&str> = cont();
                let (opts, content) = options_and_content(&body);
                let sub = match kind.as_str() {
                    "image" => Subst::Image {
                        alt: opts.get("alt").cloned().unwrap_or_else(|| rest[..end].to_string()),
                        target: opts.get("target").map(|t| clean_uri(t)),
                    },
                    "replace" | "unicode" => Subst::Text(std::iter::once(arg).chain(content).collect::<Vec<_>>().join(" ")),
                    _ => Subst::Text(rest[..end].to_string()),
                };
                self.substitutions.insert(name, sub);
            }
        }
    }

    fn blocks(&mut self, lines: &[&str], depth: usize) {
        if depth > MAX_DEPTH {
            self.pre(lines);
            return;
        }
        let n = lines.len();
        let mut i = 0;
        while i < n {
            let l = lines[i];
            if blank(l) {
                i += 1;
                continue;
            }
            if indent(l) > 0 {
                let end = block_end(lines, i, 1);
                self.out.push_str("<blockquote>\n");
                self.blocks(&dedent(&lines[i..end]), depth + 1);
                self.out.push_str("</blockquote>\n");
                i = end;
                continue;
            }
            if l.starts_with(".. ") || l == ".." {
                i = self.explicit(lines, i, depth);
                continue;
            }
            if l.starts_with("__ ") {
                i = block_end(lines, i + 1, 1);
                continue;
            }
            let next = lines.get(i + 1).copied().unwrap_or("");
            if let Some(c) = adornment(l) {
                if !blank(next) && lines.get(i + 2).is_some_and(|u| u.trim_end() == l.trim_end()) {
                    self.section(next.trim(), (true, c));
                    i += 3;
                    continue;
                }
                if width(l.trim_end()) >= 4 && blank(next) {
                    self.out.push_str("<hr>\n");
                    i += 1;
                    continue;
                }
            }
            if let Some(c) = adornment(next) {
                if adornment(l).is_none() && width(next.trim_end()) >= width(l.trim()) {
                    self.section(l.trim(), (false, c));
                    i += 2;
                    continue;
                }
            }
            if bullet(l).is_some() {
                i = self.list(lines, i, depth, false);
                continue;
            }
            if enumerator(l).is_some() && (blank(next) || indent(next) > 0 || enumerator(next).is_some()) {
                i = self.list(lines, i, depth, true);
                continue;
            }
            if field_marker(l).is_some() {
                i = self.field_list(lines, i, depth);
                continue;
            }
            if l == "|" || l.starts_with("| ") {
                i = self.line_block(lines, i);
                continue;
            }
            if l.starts_with(">>>")
                || l.starts_with("+-")
                || l.starts_with("+=")
                || (l.starts_with('=') && l.contains(' ') && l.chars().all(|c| c == '=' || c == ' '))
            {
                // Doctest blocks and tables: shown as written.
                let mut end = i;
                while end < n && !blank(lines[end]) {
                    end += 1;
                }
                if l.starts_with('=') {
                    // A simple table's rows may be separated by blank lines: it ends at the
                    // border that a blank line (or the end) follows.
                    let border = |x: &str| x.starts_with('=') && x.chars().all(|c| c == '=' || c == ' ');
                    end = (i + 1..n).find(|&k| border(lines[k]) && lines.get(k + 1).is_none_or(|x| blank(x))).map_or(n, |k| k + 1);
                }
                self.pre(&lines[i..end]);
                i = end;
                continue;
            }
            if !blank(next) && indent(next) > 0 {
                i = self.definition_list(lines, i, depth);
                continue;
            }
            i = self.paragraph(lines, i);
        }
    }

    fn section(&mut self, title: &str, style: (bool, char)) {
        let level = match self.styles.iter().position(|s| *s == style) {
            Some(p) => p + 1,
            None => {
                self.styles.push(style);
                self.styles.len()
            }
        }
        .min(6);
        let html = self.inline(title);
        self.out.push_str(&format!("<h{level}>{html}</h{level}>\n"));
    }

    fn paragraph(&mut self, lines: &[&str], i: usize) -> usize {
        let mut j = i;
        while j < lines.len() && !blank(lines[j]) && (j == i || indent(lines[j]) == 0) {
            j += 1;
        }
        let text = lines[i..j].join("\n");
        let trimmed = text.trim_end();
        let literal = trimmed.ends_with("::") && !trimmed.ends_with("\\::");
        let shown = if !literal {
            trimmed
        } else if trimmed == "::" {
            ""
        } else if trimmed[..trimmed.len() - 2].ends_with(char::is_whitespace) {
            trimmed[..trimmed.len() - 2].trim_end()
        } else {
            &trimmed[..trimmed.len() - 1]
        };
        if !shown.is_empty() {
            let html = self.inline(shown);
            self.out.push_str(&format!("<p>{html}</p>\n"));
        }
        if !literal {
            return j;
        }
        let mut k = j;
        while k < lines.len() && blank(lines[k]) {
            k += 1;
        }
        if k >= lines.len() {
            return k;
        }
        if indent(lines[k]) > 0 {
            let end = block_end(lines, k, 1);
            self.pre(&dedent(&lines[k..end]));
            return end;
        }
        // A quoted literal block: unindented lines that start with the same punctuation.
        let c = lines[k].chars().next().unwrap_or(' ');
        if c.is_ascii_punctuation() {
            let mut end = k;
            while end < lines.len() && lines[end].starts_with(c) {
                end += 1;
            }
            self.pre(&lines[k..end]);
            return end;
        }
        j
    }

    fn pre(&mut self, lines: &[&str]) {
        let text = trim_blank(lines).join("\n");
        self.out.push_str(&format!("<pre>{}</pre>\n", esc(&escape_text(&text))));
    }

    /// A bullet or enumerated list: items of one kind, at this indentation.
    fn list(&mut self, lines: &[&str], mut i: usize, depth: usize, numbered: bool) -> usize {
        let first = enumerator(lines[i]);
        let bullet_char = lines[i].chars().next();
        let mark = |l: &str| -> Option<usize> {
            if numbered {
                let (w, f, s, _) = enumerator(l)?;
                let (_, f0, s0, _) = first?;
                (f == f0 && (s == s0 || s == Seq::Auto || s0 == Seq::Auto)).then_some(w)
            } else {
                (l.chars().next() == bullet_char).then(|| bullet(l)).flatten()
            }
        };
        match first {
            Some((_, _, Seq::Arabic, n)) if numbered && n != 1 => self.out.push_str(&format!("<ol start=\"{n}\">\n")),
            _ if numbered => self.out.push_str("<ol>\n"),
            _ => self.out.push_str("<ul>\n"),
        }
        while i < lines.len() {
            let Some(w) = mark(lines[i]) else { break };
            let end = block_end(lines, i + 1, 1);
            let body = item(&lines[i][w.min(lines[i].len())..], &lines[i + 1..end], w);
            self.out.push_str("<li>");
            self.blocks(&body, depth + 1);
            self.out.push_str("</li>\n");
            i = end;
            while i < lines.len() && blank(lines[i]) {
                i += 1;
            }
        }
        self.out.push_str(if numbered { "</ol>\n" } else { "</ul>\n" });
        i
    }

    fn definition_list(&mut self, lines: &[&str], mut i: usize, depth: usize) -> usize {
        self.out.push_str("<dl>\n");
        while i + 1 < lines.len() && indent(lines[i]) == 0 && !blank(lines[i]) && !blank(lines[i + 1]) && indent(lines[i + 1]) > 0 {
            let term = self.inline(lines[i].trim());
            let end = block_end(lines, i + 1, 1);
            self.out.push_str(&format!("<dt>{term}</dt>\n<dd>"));
            self.blocks(&dedent(&lines[i + 1..end]), depth + 1);
            self.out.push_str("</dd>\n");
            i = end;
            while i < lines.len() && blank(lines[i]) {
                i += 1;
            }
        }
        self.out.push_str("</dl>\n");
        i
    }

    fn field_list(&mut self, lines: &[&str], mut i: usize, depth: usize) -> usize {
        self.out.push_str("<dl>\n");
        while i < lines.len() {
            let Some(m) = field_marker(lines[i]) else { break };
            let name = self.inline(lines[i][1..m - 1].trim());
            let end = block_end(lines, i + 1, 1);
            let body = item(lines[i][m..].trim(), &lines[i + 1..end], m + indent(&lines[i][m..]));
            self.out.push_str(&format!("<dt>{name}</dt>\n<dd>"));
            self.blocks(&body, depth + 1);
            self.out.push_str("</dd>\n");
            i = end;
            while i < lines.len() && blank(lines[i]) {
                i += 1;
            }
        }
        self.out.push_str("</dl>\n");
        i
    }

    fn line_block(&mut self, lines: &[&str], mut i: usize) -> usize {
        let mut rows: Vec<String> = Vec::new();
        while i < lines.len() && (lines[i] == "|" || lines[i].starts_with("| ") || (!rows.is_empty() && !blank(lines[i]) && indent(lines[i]) > 0)) {
            if lines[i].starts_with('|') {
                rows.push(lines[i][1..].trim().to_string());
            } else if let Some(last) = rows.last_mut() {
                last.push(' ');
                last.push_str(lines[i].trim());
            }
            i += 1;
        }
        let html: Vec<String> = rows.iter().map(|r| self.inline(r)).collect();
        self.out.push_str(&format!("<div class=\"line-block\">{}</div>\n", html.join("<br>\n")));
        i
    }

    /// Explicit markup (`.. `): directives, footnotes, comments; targets and substitution
    /// definitions were collected before and show nothing.
    fn explicit(&mut self, lines: &[&str], i: usize, depth: usize) -> usize {
        let end = block_end(lines, i + 1, 1).max(i + 1);
        let first = lines[i].get(3..).unwrap_or("").trim();
        let body = dedent(&lines[i + 1..end]);
        if first.starts_with('[') {
            if let Some(close) = first.find("] ").or_else(|| first.ends_with(']').then(|| first.len() - 1)) {
                let label = esc(&escape_text(&first[1..close]));
                let mut item = vec![first[close + 1..].trim()];
                item.extend(body.iter().copied());
                self.out.push_str(&format!("<div class=\"footnotes\"><p><sup>[{label}]</sup></p>\n"));
                self.blocks(&item, depth + 1);
                self.out.push_str("</div>\n");
                return end;
            }
        }
        if first.starts_with('_') || first.starts_with('|') {
            return end;
        }
        let Some((name, arg)) = directive(first) else { return end };
        let (opts, content) = options_and_content(&body);
        let title = |t: &str| format!("<div class=\"admonition\"><p class=\"admonition-title\">{}</p>\n", esc(t));
        match name.as_str() {
            "image" | "figure" => {
                // The URL may go on over indented lines before the options.
                let alt = opts.get("alt").cloned().unwrap_or_else(|| file_name(&clean_uri(arg)));
                let html = self.image(&alt, opts.get("target").map(|t| clean_uri(t)).as_deref());
                self.out.push_str(&format!("<p>{html}</p>\n"));
                if name == "figure" && !content.is_empty() {
                    self.blocks(&content, depth + 1);
                }
            }
            "code" | "code-block" | "sourcecode" => self.pre(&content),
            "parsed-literal" => {
                let html = self.inline(&content.join("\n"));
                self.out.push_str(&format!("<pre>{html}</pre>\n"));
            }
            "note" | "tip" | "hint" | "important" | "attention" | "caution" | "danger" | "error" | "warning" | "seealso" => {
                let label = if name == "seealso" { "See also".to_string() } else { format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]) };
                self.out.push_str(&title(&label));
                // Text on the directive line is the admonition's first paragraph.
                let mut inner: Vec<&str> = Vec::new();
                if !arg.is_empty() {
                    inner.push(arg);
                    inner.extend(body.iter().take_while(|l| !blank(l)).copied());
                    inner.push("");
                    let skip = body.iter().take_while(|l| !blank(l)).count();
                    inner.extend(trim_blank(&body[skip..]).iter().copied());
                } else {
                    inner.extend(content.iter().copied());
                }
                self.blocks(&inner, depth + 1);
                self.out.push_str("</div>\n");
            }
            "admonition" | "topic" | "sidebar" => {
                self.out.push_str(&title(arg));
                self.blocks(&content, depth + 1);
                self.out.push_str("</div>\n");
            }
            "rubric" => {
                let html = self.inline(arg);
                self.out.push_str(&format!("<p><strong>{html}</strong></p>\n"));
            }
            "epigraph" | "highlights" | "pull-quote" => {
                self.out.push_str("<blockquote>\n");
                self.blocks(&content, depth + 1);
                self.out.push_str("</blockquote>\n");
            }
            "container" | "compound" | "class" | "only" => self.blocks(&content, depth + 1),
            "contents" | "sectnum" | "section-numbering" | "meta" | "highlight" | "default-role" | "role" | "title" | "header" | "footer" | "target-notes" => {}
            "math" => self.pre(&content),
            // Tables and anything else: as written.
            _ => self.pre(&lines[i..end]),
        }
        end
    }

    fn image(&self, alt: &str, target: Option<&str>) -> String {
        let label = format!("<span class=\"image\">image: {}</span>", esc(&escape_text(alt)));
        match target {
            Some(t) => format!("<a href=\"{}\">{label}</a>", esc(t)),
            None => label,
        }
    }

    fn link(&self, text_html: &str, uri: Option<&str>) -> String {
        match uri {
            Some(u) if !u.is_empty() => format!("<a href=\"{}\">{text_html}</a>", esc(u)),
            _ => text_html.to_string(),
        }
    }

    /// The URI a reference name points to, through aliases (`.. _a: b_`).
    fn resolve(&self, name: &str) -> Option<String> {
        let mut key = normalize(name);
        for _ in 0..16 {
            let uri = self.targets.get(&key)?;
            match uri.strip_suffix('_') {
                Some(alias) if !uri.contains("://") && !uri.ends_with("\\_") => key = normalize(alias.trim_matches('`')),
                _ => return Some(uri.clone()),
            }
        }
        None
    }

    fn anonymous_next(&mut self) -> Option<String> {
        let uri = self.anonymous.get(self.anonymous_used).cloned();
        self.anonymous_used += 1;
        uri
    }

    /// Inline markup to HTML. Inline markup does not nest in RST; text is escaped.
    fn inline(&mut self, text: &str) -> String {
        self.failed.clear();
        let c: Vec<char> = text.chars().collect();
        let n = c.len();
        let mut out = String::new();
        let mut plain = String::new();
        let flush = |plain: &mut String, out: &mut String| {
            out.push_str(&esc(&escape_text(plain)));
            plain.clear();
        };
        let start_ok = |i: usize| i == 0 || c[i - 1].is_whitespace() || (!c[i - 1].is_alphanumeric() && c[i - 1] != '\\');
        let end_ok = |i: usize| i >= n || c[i].is_whitespace() || (!c[i].is_alphanumeric() && c[i] != '_' && c[i] != '`' && c[i] != '*');
        let starts = |i: usize, s: &str| s.chars().enumerate().all(|(k, ch)| c.get(i + k) == Some(&ch));
        let mut i = 0;
        while i < n {
            let ch = c[i];
            if ch == '\\' {
                if let Some(&next) = c.get(i + 1) {
                    if !next.is_whitespace() {
                        plain.push(next);
                    }
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            let after_ok = c.get(i + 1).is_some_and(|x| !x.is_whitespace());
            if starts(i, "``") && start_ok(i) && c.get(i + 2).is_some_and(|x| !x.is_whitespace()) {
                if let Some(e) = self.find_end(&c, i + 2, "``", true) {
                    flush(&mut plain, &mut out);
                    out.push_str(&format!("<code>{}</code>", esc(&escape_text(&c[i + 2..e].iter().collect::<String>()))));
                    i = e + 2;
                    continue;
                }
            }
            if starts(i, "**") && start_ok(i) && c.get(i + 2).is_some_and(|x| !x.is_whitespace()) {
                if let Some(e) = self.find_end(&c, i + 2, "**", false) {
                    flush(&mut plain, &mut out);
                    out.push_str(&format!("<strong>{}</strong>", text_of(&c[i + 2..e])));
                    i = e + 2;
                    continue;
                }
            }
            if ch == '*' && start_ok(i) && after_ok && c[i + 1] != '*' {
                if let Some(e) = self.find_end(&c, i + 1, "*", false) {
                    flush(&mut plain, &mut out);
                    out.push_str(&format!("<em>{}</em>", text_of(&c[i + 1..e])));
                    i = e + 1;
                    continue;
                }
            }
            // :role:`text`
            if ch == ':' && start_ok(i) {
                if let Some(k) = (i + 1..n.min(i + 40)).find(|&k| c[k] == ':') {
                    let role: String = c[i + 1..k].iter().collect();
                    if !role.is_empty() && role.chars().all(|x| x.is_ascii_alphanumeric() || "-_.+:".contains(x)) && c.get(k + 1) == Some(&'`') {
                        if let Some(e) = self.find_end(&c, k + 2, "`", false) {
                            flush(&mut plain, &mut out);
                            out.push_str(&self.role(&role.to_ascii_lowercase(), &c[k + 2..e].iter().collect::<String>()));
                            i = e + 1;
                            continue;
                        }
                    }
                }
            }
            if ch == '`' && start_ok(i) && after_ok {
                if let Some(e) = self.find_end(&c, i + 1, "`", false) {
                    let inner: String = c[i + 1..e].iter().collect();
                    flush(&mut plain, &mut out);
                    let anonymous = starts(e + 1, "__");
                    if anonymous || starts(e + 1, "_") {
                        out.push_str(&self.reference(&inner, anonymous));
                        i = e + 1 + if anonymous { 2 } else { 1 };
                    } else if c.get(e + 1) == Some(&':') {
                        // `text`:role:
                        let k = (e + 2..n.min(e + 40)).find(|&k| c[k] == ':');
                        let role: String = k.map(|k| c[e + 2..k].iter().collect()).unwrap_or_default();
                        out.push_str(&self.role(&role.to_ascii_lowercase(), &inner));
                        i = k.map_or(e + 1, |k| k + 1);
                    } else {
                        out.push_str(&format!("<cite>{}</cite>", text_of(&c[i + 1..e])));
                        i = e + 1;
                    }
                    continue;
                }
            }
            if ch == '|' && start_ok(i) && after_ok {
                if let Some(e) = self.find_end(&c, i + 1, "|", false) {
                    let name: String = c[i + 1..e].iter().collect();
                    let anonymous = starts(e + 1, "__");
                    let linked = anonymous || starts(e + 1, "_");
                    flush(&mut plain, &mut out);
                    let uri = if anonymous {
                        self.anonymous_next()
                    } else if linked {
                        self.resolve(&name)
                    } else {
                        None
                    };
                    let html = match self.substitutions.get(&normalize(&name)) {
                        Some(Subst::Text(t)) => {
                            let t = t.clone();
                            self.link(&esc(&escape_text(&t)), uri.as_deref())
                        }
                        Some(Subst::Image { alt, target }) => match (uri, target) {
                            (Some(u), _) => self.link(&self.image(alt, None), Some(&u)),
                            (None, t) => self.image(alt, t.as_deref()),
                        },
                        None => esc(&escape_text(&name)),
                    };
                    out.push_str(&html);
                    i = e
                        + 1
                        + if anonymous {
                            2
                        } else if linked {
                            1
                        } else {
                            0
                        };
                    continue;
                }
            }
            // [1]_ [#]_ [*]_ [CIT2002]_
            if ch == '[' && start_ok(i) {
                if let Some(close) = (i + 1..n.min(i + 64)).find(|&k| c[k] == ']') {
                    if close > i + 1 && c.get(close + 1) == Some(&'_') && end_ok(close + 2) && !c[i + 1..close].iter().any(|x| x.is_whitespace()) {
                        flush(&mut plain, &mut out);
                        out.push_str(&format!("<sup>[{}]</sup>", text_of(&c[i + 1..close])));
                        i = close + 2;
                        continue;
                    }
                }
            }
            if ch.is_alphanumeric() && start_ok(i) {
                // A standalone URI. Only a word that starts with a scheme is read whole, so a
                // long word is not read again from each of its parts.
                let head = c[i..n.min(i + 8)].iter().collect::<String>().to_ascii_lowercase();
                if ["http://", "https://", "ftp://", "mailto:"].iter().any(|p| head.starts_with(p)) {
                    let word_end = (i..n).find(|&k| c[k].is_whitespace()).unwrap_or(n);
                    let word: String = c[i..word_end].iter().collect();
                    let mut uri = word.split(['<', '>']).next().unwrap_or_default().to_string();
                    while uri.ends_with(['.', ',', ';', ':', '!', '?', '\'', '"', ')', ']', '}']) {
                        uri.pop();
                    }
                    if uri.len() > head.find(':').unwrap_or(0) + 3 {
                        flush(&mut plain, &mut out);
                        out.push_str(&self.link(&esc(&escape_text(&uri)), Some(&uri)));
                        i += uri.chars().count();
                        continue;
                    }
                }
                // A simple reference: name_ or name__.
                let mut k = i;
                while k < n && (c[k].is_alphanumeric() || ("-_.:+".contains(c[k]) && c.get(k + 1).is_some_and(|x| x.is_alphanumeric()))) {
                    k += 1;
                }
                if c.get(k) == Some(&'_') {
                    let anonymous = c.get(k + 1) == Some(&'_');
                    let after = k + if anonymous { 2 } else { 1 };
                    if end_ok(after) {
                        let name: String = c[i..k].iter().collect();
                        flush(&mut plain, &mut out);
                        let uri = if anonymous { self.anonymous_next() } else { self.resolve(&name) };
                        out.push_str(&self.link(&esc(&escape_text(&name)), uri.as_deref()));
                        i = after;
                        continue;
                    }
                }
                // The rest of the word is plain text: no markup starts inside a word.
                plain.extend(&c[i..k.max(i + 1)]);
                i = k.max(i + 1);
                continue;
            }
            plain.push(ch);
            i += 1;
        }
        flush(&mut plain, &mut out);
        out
    }

    /// `text <uri>`_, `name`_, `text <name_>`_ and their anonymous forms.
    fn reference(&mut self, inner: &str, anonymous: bool) -> String {
        let trimmed = inner.trim_end();
        if trimmed.ends_with('>') {
            if let Some(open) = trimmed.rfind('<') {
                if open == 0 || trimmed[..open].ends_with(char::is_whitespace) {
                    let target = &trimmed[open + 1..trimmed.len() - 1];
                    let label = trimmed[..open].trim();
                    let uri = match target.strip_suffix('_') {
                        Some(alias) if !target.ends_with("\\_") => self.resolve(alias.trim_matches('`')),
                        _ => Some(clean_uri(target)),
                    };
                    let label = if label.is_empty() { target.to_string() } else { unescape(label) };
                    return self.link(&esc(&escape_text(&label)), uri.as_deref());
                }
            }
        }
        let uri = if anonymous { self.anonymous_next() } else { self.resolve(inner) };
        self.link(&esc(&escape_text(&unescape(inner))), uri.as_deref())
    }

    fn role(&self, role: &str, text: &str) -> String {
        let t = esc(&escape_text(&unescape(text)));
        match role {
            "code" | "literal" | "math" | "kbd" | "file" | "command" | "samp" => format!("<code>{t}</code>"),
            "emphasis" => format!("<em>{t}</em>"),
            "strong" => format!("<strong>{t}</strong>"),
            "sub" | "subscript" => format!("<sub>{t}</sub>"),
            "sup" | "superscript" => format!("<sup>{t}</sup>"),
            "title" | "title-reference" | "t" => format!("<cite>{t}</cite>"),
            "abbreviation" | "ab" | "acronym" | "ac" => format!("<abbr>{t}</abbr>"),
            "pep" | "pep-reference" => match text.trim().parse::<u32>() {
                Ok(n) => self.link(&format!("PEP {n}"), Some(&format!("https://peps.python.org/pep-{n:04}/"))),
                Err(_) => t,
            },
            "rfc" | "rfc-reference" => match text.trim().parse::<u32>() {
                Ok(n) => self.link(&format!("RFC {n}"), Some(&format!("https://tools.ietf.org/html/rfc{n}.html"))),
                Err(_) => t,
            },
            _ => t,
        }
    }

    /// The start of the first end-string `end` at or after `from` that closes inline markup:
    /// preceded by non-whitespace (and, but in literals, not escaped), followed by a
    /// delimiter. Remembers failures, so a paragraph is scanned once per end-string.
    fn find_end(&mut self, c: &[char], from: usize, end: &'static str, literal: bool) -> Option<usize> {
        if self.failed.get(end).is_some_and(|&f| from >= f) {
            return None;
        }
        let e: Vec<char> = end.chars().collect();
        let n = c.len();
        // The markup holds at least one character: the end-string starts after `from`.
        let mut k = from + 1;
        while k + e.len() <= n {
            if c[k..k + e.len()] == e[..] && !c[k - 1].is_whitespace() && (literal || c[k - 1] != '\\') {
                let after = k + e.len();
                // For `*`, a second `*` means the end-string is longer: not this one.
                let ok = after >= n || c[after].is_whitespace() || !(c[after].is_alphanumeric() || (end == "*" && c[after] == '*'));
                if ok {
                    return Some(k);
                }
            }
            k += 1;
        }
        self.failed.insert(end, from);
        None
    }
}

/// The last path segment of an image URL, for a placeholder without alt text.
fn file_name(uri: &str) -> String {
    let path = uri.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    path.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(path).to_string()
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                if !n.is_whitespace() {
                    out.push(n);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn text_of(c: &[char]) -> String {
    esc(&escape_text(&unescape(&c.iter().collect::<String>())))
}
