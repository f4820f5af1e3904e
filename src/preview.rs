//! The release preview: what PyPI will show for a release, built from its files' metadata
//! before anything is sent. Pure and sans-IO: parsed metadata in, sanitised HTML and plain,
//! escaped data out.
//!
//! Behind the `preview` feature: pulldown-cmark and ammonia (html5ever) are most of a wasm
//! package's size, and only the page shows a preview (`pkg-www/`, not `pkg/`).
//!
//! Every piece of HTML this module returns is ammonia's output, with an allowlist modelled on
//! readme_renderer's (PyPI's) minus what a page of ours must not carry: no images (the page's
//! CSP refuses them, and a preview must not call third parties), no ids (they would clash with
//! the page's), no form controls. Every plain string is escaped by [`crate::mask`].

mod rst;

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use crate::checks::rst::split_lines;
use crate::checks::{self, Finding};
use crate::digest::DigestSet;
use crate::filename::{normalize_name, DistFilename};
use crate::mask::escape_line;
use crate::metadata::{split_project_url, Metadata};

/// Longest description rendered; longer ones are shown as text (PyPI's checks stop there too).
pub const MAX_RENDER: usize = checks::rst::MAX_LEN;

/// One distribution of a release, as the shell read it.
#[derive(Debug, Clone, Copy)]
pub struct PreviewFile<'a> {
    /// The parsed file name.
    pub filename: &'a DistFilename,
    /// The file's size in bytes.
    pub size: u64,
    /// Its parsed metadata.
    pub metadata: &'a Metadata,
    /// Its digests, once hashed.
    pub digests: Option<&'a DigestSet>,
}

/// What PyPI will show for one release (one name and version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePreview {
    /// `Name` as written.
    pub name: String,
    /// `Version` as written.
    pub version: String,
    /// `Summary`.
    pub summary: Option<String>,
    /// The file whose metadata PyPI keeps for the release: the first one uploaded.
    pub metadata_from: String,
    /// The description as PyPI renders it.
    pub description: DescriptionPreview,
    /// Project links: `Project-URL`s, then `Home-page` and `Download-URL`.
    pub links: Vec<Link>,
    /// Classifiers grouped by their first part, in file order.
    pub classifiers: Vec<ClassifierGroup>,
    /// `Requires-Python`.
    pub requires_python: Option<String>,
    /// License, author, maintainer, keywords: what PyPI's sidebar shows, when given.
    pub details: Vec<Detail>,
    /// The release's files in upload order (wheels first), with their digests.
    pub files: Vec<FileRow>,
    /// What PyPI's checks find in any of the release's files.
    pub findings: Vec<PreviewFinding>,
    /// Where the files' metadata differ (PyPI shows only the first uploaded file's).
    pub notes: Vec<String>,
    /// True when a finding would make PyPI refuse an upload.
    pub blocking: bool,
}

/// The description, rendered as PyPI renders it, or its lines when PyPI would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescriptionPreview {
    /// `Description-Content-Type` as declared, or `text/x-rst` (PyPI's default) when absent.
    pub content_type: String,
    /// `markdown`, `rst`, `text`, or `none` when there is no description.
    pub format: &'static str,
    /// Sanitised HTML (ammonia's output) when the description renders.
    pub html: Option<String>,
    /// The description's lines, escaped, when it does not render: findings point at them (1-based).
    pub lines: Vec<String>,
}

/// One project link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// The label PyPI shows (`Homepage`, `Download`, or the `Project-URL` label).
    pub label: String,
    /// The URL as written, escaped for display.
    pub url: String,
    /// The parsed http(s) URL, when it is one; other schemes are shown, never linked.
    pub href: Option<String>,
    /// `project-url`, `home-page` or `download-url`.
    pub field: &'static str,
}

/// Classifiers that share a first part (`Programming Language`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierGroup {
    /// The first part.
    pub group: String,
    /// The rest of each classifier, `" :: "`-joined.
    pub items: Vec<String>,
}

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    /// What it is.
    pub label: &'static str,
    /// The value, escaped.
    pub value: String,
}

/// One file of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    /// The file name.
    pub filename: String,
    /// "wheel py3-none-any" or "sdist (tar.gz)".
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// Its digests, once hashed.
    pub digests: Option<DigestSet>,
}

/// A finding of PyPI's checks, with the files it was found in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewFinding {
    /// The check's code.
    pub code: &'static str,
    /// The field it is about.
    pub field: String,
    /// 1-based line in the description, for description findings.
    pub line: Option<u32>,
    /// What is wrong, escaped.
    pub message: String,
    /// PyPI would refuse the upload.
    pub blocking: bool,
    /// The files it was found in.
    pub files: Vec<String>,
}

/// Groups `files` into releases (by normalized name and version, in first-seen order) and
/// previews each one.
pub fn releases(files: &[PreviewFile<'_>]) -> Vec<ReleasePreview> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut groups: Vec<Vec<PreviewFile<'_>>> = Vec::new();
    for f in files {
        let key = (normalize_name(f.metadata.name()), crate::version::normalize(f.metadata.version()));
        match keys.iter().position(|k| *k == key) {
            Some(i) => groups[i].push(*f),
            None => {
                keys.push(key);
                groups.push(vec![*f]);
            }
        }
    }
    groups.iter().map(|g| release(g)).collect()
}

/// Previews one release from its files (all of one name and version).
pub fn release(files: &[PreviewFile<'_>]) -> ReleasePreview {
    // The engine uploads wheels first (stable otherwise); PyPI keeps the first file's metadata.
    let mut ordered: Vec<PreviewFile<'_>> = files.to_vec();
    ordered.sort_by_key(|f| !f.filename.is_wheel());
    let Some(first) = ordered.first().copied() else {
        return empty_release();
    };
    let md = first.metadata;
    let one = |h: &str| md.get(h).map(escape_line);

    let mut findings: Vec<PreviewFinding> = Vec::new();
    for f in &ordered {
        for finding in checks::check_metadata(f.metadata) {
            add_finding(&mut findings, finding, &f.filename.raw);
        }
    }
    let blocking = findings.iter().any(|f| f.blocking);

    ReleasePreview {
        name: escape_line(md.name()),
        version: escape_line(md.version()),
        summary: one("summary"),
        metadata_from: escape_line(&first.filename.raw),
        description: description(md),
        links: links(md),
        classifiers: classifiers(&md.get_all("classifier")),
        requires_python: one("requires-python"),
        details: details(md),
        files: ordered
            .iter()
            .map(|f| FileRow { filename: escape_line(&f.filename.raw), kind: crate::describe_dist(f.filename), size: f.size, digests: f.digests.cloned() })
            .collect(),
        findings,
        notes: differences(&ordered),
        blocking,
    }
}

fn empty_release() -> ReleasePreview {
    ReleasePreview {
        name: String::new(),
        version: String::new(),
        summary: None,
        metadata_from: String::new(),
        description: DescriptionPreview { content_type: String::new(), format: "none", html: None, lines: Vec::new() },
        links: Vec::new(),
        classifiers: Vec::new(),
        requires_python: None,
        details: Vec::new(),
        files: Vec::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        blocking: false,
    }
}

/// One finding per distinct problem, naming every file it is in.
fn add_finding(out: &mut Vec<PreviewFinding>, f: Finding, file: &str) {
    let message = escape_line(&f.message);
    if let Some(seen) = out.iter_mut().find(|p| p.code == f.code && p.field == f.field && p.line == f.line && p.message == message) {
        seen.files.push(escape_line(file));
        return;
    }
    out.push(PreviewFinding { code: f.code, field: escape_line(&f.field), line: f.line, message, blocking: f.blocking, files: vec![escape_line(file)] });
}

/// The description as PyPI renders the text twine sends (so findings' lines are its lines).
pub fn description(md: &Metadata) -> DescriptionPreview {
    let declared = md.get("description-content-type").map(str::to_string);
    let content_type = declared.clone().unwrap_or_else(|| "text/x-rst".into());
    let text = md.raw_description().unwrap_or_default();
    let mut params = content_type.split(';');
    let main = params.next().unwrap_or_default().trim().to_ascii_lowercase();
    let variant =
        params.filter_map(|p| p.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("variant")).map(|(_, v)| v.trim().trim_matches('"').to_string());
    let content_type = escape_line(&content_type);
    if text.trim().is_empty() {
        return DescriptionPreview { content_type, format: "none", html: None, lines: Vec::new() };
    }
    let format = match main.as_str() {
        "text/markdown" => "markdown",
        "text/plain" => "text",
        _ => "rst",
    };
    let html = if text.len() > MAX_RENDER {
        None
    } else {
        match format {
            "markdown" => Some(markdown(text, variant.as_deref() != Some("CommonMark"))),
            "text" => Some(plain(text)),
            // Rendered only when PyPI's checks pass: PyPI refuses anything else.
            _ => checks::rst::renders(text).then(|| rst::render(text)),
        }
    };
    let lines = if html.is_none() { split_lines(text).iter().map(|l| escape_line(l)).collect() } else { Vec::new() };
    DescriptionPreview { content_type, format, html, lines }
}

/// Markdown as PyPI renders it (GFM unless the variant is CommonMark), sanitised.
pub fn markdown(text: &str, gfm: bool) -> String {
    let mut opts = Options::empty();
    if gfm {
        opts |= Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS | Options::ENABLE_FOOTNOTES | Options::ENABLE_GFM;
    }
    let mut events: Vec<Event<'_>> = Vec::new();
    // Bare URLs are linked only outside links and code, as GFM's autolink extension does.
    let (mut in_link, mut in_code) = (0usize, 0usize);
    for ev in Parser::new_ext(text, opts) {
        match ev {
            // The page loads no images (its CSP forbids them, and previewing must not call
            // third parties): an image is shown as its alt text, marked as an image.
            Event::Start(Tag::Image { .. }) => events.push(Event::InlineHtml(CowStr::Borrowed("<span class=\"image\">image: "))),
            Event::End(TagEnd::Image) => events.push(Event::InlineHtml(CowStr::Borrowed("</span>"))),
            // A checkbox would be an unlabelled form control in the page.
            Event::TaskListMarker(done) => events.push(Event::Text(CowStr::Borrowed(if done { "[x] " } else { "[ ] " }))),
            Event::Start(Tag::Link { .. }) => {
                in_link += 1;
                events.push(ev);
            }
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                events.push(ev);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                in_code += 1;
                events.push(ev);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = in_code.saturating_sub(1);
                events.push(ev);
            }
            Event::Text(t) if gfm && in_link == 0 && in_code == 0 => linkify(&t, &mut events),
            Event::Text(t) => events.push(Event::Text(CowStr::from(escape_text(&t)))),
            Event::Code(t) => events.push(Event::Code(CowStr::from(escape_text(&t)))),
            ev => events.push(ev),
        }
    }
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitize(&html)
}

/// Plain text as PyPI renders it: escaped, line breaks kept.
fn plain(text: &str) -> String {
    let html = split_lines(text).iter().map(|l| esc(&escape_text(l))).collect::<Vec<_>>().join("<br>\n");
    sanitize(&format!("<p>{html}</p>"))
}

/// Text that reaches the HTML: control and bidi characters become visible escapes, as in
/// every other string the shells show (line breaks and tabs stay).
fn escape_text(t: &str) -> String {
    crate::mask::escape_block(t)
}

/// Bare `http(s)://` and `www.` URLs in a text event become links (GFM's autolink extension).
fn linkify<'a>(text: &str, out: &mut Vec<Event<'a>>) {
    let mut rest = text;
    while let Some((start, end)) = next_url(rest) {
        if start > 0 {
            out.push(Event::Text(CowStr::from(escape_text(&rest[..start]))));
        }
        let url = &rest[start..end];
        let href = if url.starts_with("www.") { format!("http://{url}") } else { url.to_string() };
        out.push(Event::Start(Tag::Link {
            link_type: pulldown_cmark::LinkType::Autolink,
            dest_url: CowStr::from(href),
            title: CowStr::Borrowed(""),
            id: CowStr::Borrowed(""),
        }));
        out.push(Event::Text(CowStr::from(escape_text(url))));
        out.push(Event::End(TagEnd::Link));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(CowStr::from(escape_text(rest))));
    }
}

/// The next bare URL in `s` as a byte range: it starts a word and ends before whitespace,
/// `<`, and trailing punctuation (a `)` only when unbalanced).
fn next_url(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut from = 0;
    while from < s.len() {
        let hit = ["https://", "http://", "www."].iter().filter_map(|p| s[from..].find(p).map(|i| from + i)).min()?;
        let word_start = hit == 0 || !b[hit - 1].is_ascii_alphanumeric();
        let len = s[hit..].find(|c: char| c.is_whitespace() || c == '<').unwrap_or(s.len() - hit);
        let mut url = &s[hit..hit + len];
        loop {
            let trimmed = url.trim_end_matches(['.', ',', ':', ';', '!', '?', '"', '\'', '*', '_', '~']);
            let trimmed =
                if trimmed.ends_with(')') && trimmed.matches(')').count() > trimmed.matches('(').count() { &trimmed[..trimmed.len() - 1] } else { trimmed };
            if trimmed.len() == url.len() {
                break;
            }
            url = trimmed;
        }
        let host_ok = url.split("://").last().is_some_and(|rest| rest.trim_start_matches("www.").contains(|c: char| c.is_ascii_alphanumeric()));
        if word_start && host_ok && url.len() > "www.".len() {
            return Some((hit, hit + url.len()));
        }
        from = hit + 1;
    }
    None
}

/// The tags the preview keeps: readme_renderer's allow-list (what PyPI's pages keep).
pub const ALLOWED_TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "ul",
    "var",
];

/// Sanitises HTML for the page: the only way HTML leaves this module.
pub fn sanitize(html: &str) -> String {
    let attrs: HashMap<&str, HashSet<&str>> = [
        ("a", &["href", "title"][..]),
        ("abbr", &["title"]),
        ("acronym", &["title"]),
        ("td", &["align", "colspan", "rowspan"]),
        ("th", &["align", "colspan", "rowspan"]),
        ("ol", &["start"]),
        ("h1", &["align"]),
        ("h2", &["align"]),
        ("h3", &["align"]),
        ("h4", &["align"]),
        ("h5", &["align"]),
        ("h6", &["align"]),
        ("p", &["align"]),
        ("div", &["align"]),
    ]
    .into_iter()
    .map(|(t, a)| (t, a.iter().copied().collect()))
    .collect();
    let classes: HashMap<&str, HashSet<&str>> = [("span", &["image"][..]), ("div", &["admonition", "line-block", "footnotes"]), ("p", &["admonition-title"])]
        .into_iter()
        .map(|(t, c)| (t, c.iter().copied().collect()))
        .collect();
    ammonia::Builder::empty()
        .tags(ALLOWED_TAGS.iter().copied().collect())
        .tag_attributes(attrs)
        .generic_attributes(HashSet::new())
        .allowed_classes(classes)
        .clean_content_tags(["script", "style", "template", "noscript", "iframe", "object", "title", "textarea", "svg", "math"].into_iter().collect())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        // A relative link would point into this page; PyPI's would point nowhere useful either.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer"))
        // Links open elsewhere: following one must not throw away the files dropped here.
        .set_tag_attribute_value("a", "target", "_blank")
        .strip_comments(true)
        .clean(html)
        .to_string()
}

/// Project links as PyPI lists them: `Project-URL`s, then `Home-page` and `Download-URL`.
fn links(md: &Metadata) -> Vec<Link> {
    let mut out = Vec::new();
    let mut push = |label: &str, url: &str, field: &'static str| {
        if url.trim().is_empty() || out.iter().any(|l: &Link| l.field == field && l.label == escape_line(label) && l.url == escape_line(url)) {
            return;
        }
        let href = crate::url::Url::parse(url.trim()).ok().map(|u| u.to_string());
        out.push(Link { label: escape_line(label), url: escape_line(url.trim()), href, field });
    };
    for value in md.get_all("project-url") {
        let (label, url) = split_project_url(value);
        push(label, url, "project-url");
    }
    if let Some(url) = md.get("home-page") {
        push("Homepage", url, "home-page");
    }
    if let Some(url) = md.get("download-url") {
        push("Download", url, "download-url");
    }
    out
}

fn classifiers(list: &[&str]) -> Vec<ClassifierGroup> {
    let mut out: Vec<ClassifierGroup> = Vec::new();
    for c in list {
        let (group, rest) = c.split_once("::").map(|(g, r)| (g.trim(), r.trim())).unwrap_or((c.trim(), ""));
        let (group, rest) = (escape_line(group), escape_line(&rest.split("::").map(str::trim).collect::<Vec<_>>().join(" :: ")));
        match out.iter_mut().find(|g| g.group == group) {
            Some(g) => {
                if !rest.is_empty() {
                    g.items.push(rest);
                }
            }
            None => out.push(ClassifierGroup { group, items: if rest.is_empty() { Vec::new() } else { vec![rest] } }),
        }
    }
    out
}

fn details(md: &Metadata) -> Vec<Detail> {
    let mut out = Vec::new();
    // PyPI shows License-Expression when there is one, else the License text's first line.
    let license = md
        .get("license-expression")
        .map(str::to_string)
        .or_else(|| md.get("license").and_then(|l| l.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)));
    let fields: [(&'static str, Option<String>); 4] = [
        ("License", license),
        ("Author", md.get("author").or(md.get("author-email")).map(str::to_string)),
        ("Maintainer", md.get("maintainer").or(md.get("maintainer-email")).map(str::to_string)),
        ("Keywords", md.get("keywords").map(|k| k.split(',').map(str::trim).filter(|k| !k.is_empty()).collect::<Vec<_>>().join(", "))),
    ];
    for (label, value) in fields {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            out.push(Detail { label, value: escape_line(v.trim()) });
        }
    }
    out
}

/// Where a later file's metadata differs from the first file's, field by field.
fn differences(files: &[PreviewFile<'_>]) -> Vec<String> {
    const FIELDS: &[(&str, &str)] = &[
        ("summary", "summary"),
        ("description", "description"),
        ("description-content-type", "description type"),
        ("requires-python", "Requires-Python"),
        ("classifier", "classifiers"),
        ("project-url", "project links"),
        ("home-page", "home page"),
        ("download-url", "download URL"),
        ("license-expression", "license"),
    ];
    let Some((first, rest)) = files.split_first() else { return Vec::new() };
    let value = |md: &Metadata, h: &str| {
        if h == "description" {
            vec![md.raw_description().unwrap_or_default().trim_end().to_string()]
        } else {
            md.get_all(h).into_iter().map(str::to_string).collect()
        }
    };
    let mut out = Vec::new();
    for f in rest {
        let differ: Vec<&str> = FIELDS.iter().filter(|(h, _)| value(first.metadata, h) != value(f.metadata, h)).map(|(_, label)| *label).collect();
        if !differ.is_empty() {
            out.push(escape_line(&format!(
                "{} has a different {} from {}; PyPI shows the metadata of the first file uploaded, {}.",
                f.filename.raw,
                differ.join(", "),
                first.filename.raw,
                first.filename.raw
            )));
        }
    }
    out
}

/// HTML-escapes text (ammonia parses what this module writes; this keeps text text).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
