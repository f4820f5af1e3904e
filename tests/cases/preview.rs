//! The release preview: what PyPI will show, rendered and sanitised in the core.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::digest::digest_bytes;
use pypublish::filename::DistFilename;
use pypublish::metadata::Metadata;
use pypublish::preview::*;

fn md(text: &str) -> Metadata {
    Metadata::parse(text.as_bytes()).unwrap()
}

fn desc(content_type: &str, body: &str) -> DescriptionPreview {
    description(&md(&format!("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nDescription-Content-Type: {content_type}\n\n{body}")))
}

fn html(content_type: &str, body: &str) -> String {
    let d = desc(content_type, body);
    let h = d.html.unwrap_or_else(|| panic!("{body:?} did not render: {:?}", d.lines));
    assert_safe(&h);
    h
}

/// Reads the sanitiser's output as a browser would (it is serialised HTML: `<` in text is
/// `&lt;`, attribute values are double-quoted) and checks every tag, attribute and URL.
fn assert_safe(html: &str) {
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').map(|c| open + c).unwrap_or_else(|| panic!("unclosed tag in {html}"));
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(ALLOWED_TAGS.contains(&name.as_str()), "tag <{name}> in {html}");
        let mut attrs = &tag[name.len()..];
        while let Some(eq) = attrs.find("=\"") {
            let attr = attrs[..eq].trim();
            let end = attrs[eq + 2..].find('"').unwrap() + eq + 2;
            let value = &attrs[eq + 2..end];
            attrs = &attrs[end + 1..];
            let allowed = match attr {
                "href" => {
                    let v = value.to_ascii_lowercase();
                    assert!(v.starts_with("https://") || v.starts_with("http://") || v.starts_with("mailto:"), "href {value:?} in {html}");
                    name == "a"
                }
                "rel" => value == "nofollow noopener noreferrer",
                "target" => value == "_blank",
                "class" => ["image", "admonition", "admonition-title", "line-block", "footnotes"].contains(&value),
                "title" | "align" | "colspan" | "rowspan" | "start" => true,
                _ => false,
            };
            assert!(allowed, "attribute {attr}={value:?} on <{name}> in {html}");
        }
        assert!(attrs.trim().is_empty() || attrs.trim() == "/", "attributes left unread: {attrs:?} in {html}");
    }
}

#[test]
fn markdown_renders_headings_links_lists_code_and_tables() {
    let h = html(
        "text/markdown",
        "# Demo\n\nSee [the docs](https://docs.example.org/) or https://bare.example.org/x.\n\n- one\n- two\n\n```python\nprint(1)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~\n",
    );
    assert!(h.contains("<h1>Demo</h1>"), "{h}");
    assert!(h.contains(r#"<a href="https://docs.example.org/" target="_blank" rel="nofollow noopener noreferrer">the docs</a>"#), "{h}");
    assert!(
        h.contains(r#"<a href="https://bare.example.org/x" target="_blank" rel="nofollow noopener noreferrer">https://bare.example.org/x</a>."#),
        "a bare URL is linked, without its full stop: {h}"
    );
    assert!(h.contains("<li>one</li>") && h.contains("<pre><code>print(1)\n</code></pre>"), "{h}");
    assert!(h.contains("<table>") && h.contains("<td>1</td>") && h.contains("<del>old</del>"), "GFM tables and strikethrough: {h}");
}

#[test]
fn commonmark_variant_has_no_gfm_extensions() {
    let h = html("text/markdown; variant=CommonMark", "~~old~~ https://bare.example.org/\n");
    assert!(!h.contains("<del>") && !h.contains("<a "), "{h}");
}

#[test]
fn hostile_markdown_is_sanitised() {
    let cases: &[(&str, &[&str])] = &[
        ("<script>alert(1)</script>\n\ntext", &["<script", "alert(1)"]),
        ("[x](javascript:alert(1))", &["javascript:"]),
        ("[x](JaVaScRiPt:alert(1))", &["javascript:", "JaVaScRiPt"]),
        ("<a href=\"jav&#x09;ascript:alert(1)\">x</a>", &["ascript:"]),
        ("<a href=\"javascript:alert(1)\">x</a>", &["javascript:"]),
        ("<img src=x onerror=alert(1)>", &["onerror", "<img"]),
        ("![pic](https://tracker.example/p.png)", &["<img", "tracker.example"]),
        ("<div onclick=\"alert(1)\" onmouseover=\"x()\">hi</div>", &["onclick", "onmouseover"]),
        ("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", &["data:"]),
        ("<a href=\"data:text/html,<script>alert(1)</script>\">x</a>", &["data:", "<script"]),
        ("<iframe src=\"https://evil.example/\"></iframe>", &["<iframe", "evil.example"]),
        ("<style>body{display:none}</style>", &["<style", "display:none"]),
        ("<p style=\"position:fixed\">x</p>", &["style="]),
        ("<form action=\"https://evil.example/\"><input name=p></form>", &["<form", "<input"]),
        ("<svg onload=alert(1)><circle/></svg>", &["<svg", "onload"]),
        ("<object data=\"x.swf\"></object><embed src=\"x\">", &["<object", "<embed"]),
        ("<a href=\"//evil.example/\">x</a>", &["evil.example"]),
        ("<a href=\"/relative\">x</a> <a href=\"#top\">y</a>", &["href"]),
        ("<h2 id=\"upload\">clobber</h2> <a name=\"files\">n</a>", &["id=", "name="]),
        ("<base href=\"https://evil.example/\"><meta http-equiv=\"refresh\" content=\"0\">", &["<base", "<meta"]),
        ("- [x] done\n- [ ] todo", &["<input"]),
        ("<details open><summary>s</summary>ok</details>", &["open"]),
        ("<!-- <script>alert(1)</script> -->", &["<script", "<!--"]),
        ("<a href=\"https://ok.example/\" target=\"_top\">x</a>", &["_top"]),
    ];
    for (input, banned) in cases {
        let h = html("text/markdown", input);
        for b in *banned {
            assert!(!h.to_ascii_lowercase().contains(&b.to_ascii_lowercase()), "{input:?} gave {h:?}, which has {b:?}");
        }
    }
    let h = html("text/markdown", "- [x] done\n- [ ] todo");
    assert!(h.contains("[x] done") && h.contains("[ ] todo"), "task lists keep their state as text: {h}");
    let h = html("text/markdown", "![Build status](https://ci.example/badge.svg)");
    assert!(h.contains(r#"<span class="image">image: Build status</span>"#), "an image is shown as its alt text: {h}");
}

#[test]
fn rst_renders_what_readmes_use() {
    let text = "Demo\n====\n\nA *demo* with **strong**, ``code`` and a `link <https://example.org/>`_.\n\n\
                Usage\n-----\n\n- one\n- two\n\n1. first\n2. second\n\nExample::\n\n    print(1)\n\n\
                .. code-block:: python\n\n   x = 1\n\n.. note::\n\n   A note.\n\nSee docs_ and |badge|.\n\n\
                .. _docs: https://docs.example.org/\n.. |badge| image:: https://ci.example/b.svg\n   :target: https://ci.example/\n\n\
                term\n   its definition\n\n----\n\nThe end.\n";
    let h = html("text/x-rst", text);
    for want in [
        "<h1>Demo</h1>",
        "<h2>Usage</h2>",
        "<em>demo</em>",
        "<strong>strong</strong>",
        "<code>code</code>",
        r#"<a href="https://example.org/" target="_blank" rel="nofollow noopener noreferrer">link</a>"#,
        "<li><p>one</p>\n</li>",
        "<ol>",
        "<p>Example:</p>",
        "<pre>print(1)</pre>",
        "<pre>x = 1</pre>",
        r#"<div class="admonition"><p class="admonition-title">Note</p>"#,
        r#"<a href="https://docs.example.org/" target="_blank" rel="nofollow noopener noreferrer">docs</a>"#,
        r#"<a href="https://ci.example/" target="_blank" rel="nofollow noopener noreferrer"><span class="image">image: badge</span></a>"#,
        "<dt>term</dt>",
        "<hr>",
        "<p>The end.</p>",
    ] {
        assert!(h.contains(want), "missing {want:?} in\n{h}");
    }
    assert!(!h.contains("_docs") && !h.contains("|badge|"), "targets and substitution definitions show nothing: {h}");
}

#[test]
fn rst_tables_and_unknown_constructs_are_shown_as_written() {
    let h = html("text/x-rst", "+---+---+\n| a | b |\n+---+---+\n\n===  ===\nx    y\n===  ===\n\nafter\n");
    assert!(h.contains("<pre>+---+---+\n| a | b |\n+---+---+</pre>"), "{h}");
    assert!(h.contains("<pre>===  ===\nx    y\n===  ===</pre>"), "{h}");
    assert!(h.contains("<p>after</p>"), "{h}");
}

#[test]
fn hostile_rst_is_sanitised() {
    let cases: &[(&str, &[&str])] = &[
        ("`x <javascript:alert(1)>`_\n", &["javascript:"]),
        ("See t_.\n\n.. _t: javascript:alert(1)\n", &["javascript:"]),
        ("`y <data:text/html;base64,PHNjcmlwdD4=>`_\n", &["data:"]),
        (".. image:: javascript:alert(1)\n   :target: javascript:alert(2)\n", &["href=\"javascript", "alert(2)"]),
        ("|i|\n\n.. |i| image:: https://x.example/i.png\n   :target: javascript:alert(3)\n", &["javascript:"]),
        ("<script>alert(1)</script> and <img src=x onerror=alert(1)>\n", &["<script", "<img"]),
        ("``<b onclick=x>`` and *<i>*\n", &["<b ", "<i>"]),
        ("Title <h1>\n==========\n", &["<h1>title <h1>"]),
        (":strong:`<a href=x>`\n", &["<a href"]),
        // Quotes stay inside the href's value and the text (assert_safe reads every attribute).
        ("`evil\" onmouseover=\"alert(1) <https://ok.example/\" onmouseover=\"x>`_\n", &["onmouseover=\"x\""]),
    ];
    for (input, banned) in cases {
        let h = html("text/x-rst", input);
        for b in *banned {
            assert!(!h.to_ascii_lowercase().contains(&b.to_ascii_lowercase()), "{input:?} gave {h:?}, which has {b:?}");
        }
    }
    let h = html("text/x-rst", "<script>alert(1)</script>\n");
    assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "markup in text is text: {h}");
}

#[test]
fn rst_that_pypi_refuses_is_shown_as_lines_that_findings_point_at() {
    // `.. raw::` renders nowhere on PyPI: the description is refused, and shown as text.
    let body = "Demo\n====\n\n.. raw:: html\n\n   <script>alert(1)</script>\n\nSee `docs`_.\n";
    let d = desc("text/x-rst", body);
    assert_eq!(d.html, None);
    assert_eq!(d.format, "rst");
    assert_eq!(d.lines, body.lines().map(str::to_string).collect::<Vec<_>>());
    let m = md(&format!("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n{body}"));
    let name = DistFilename::parse("demo-1.0.tar.gz").unwrap();
    let p = release(&[PreviewFile { filename: &name, size: 10, metadata: &m, digests: None }]);
    assert!(p.blocking);
    let lines: Vec<(&str, Option<u32>)> = p.findings.iter().map(|f| (f.code, f.line)).collect();
    assert_eq!(lines, [("rst.raw", Some(4)), ("rst.unknown-target", Some(8))]);
    for f in &p.findings {
        let line = &p.description.lines[f.line.unwrap() as usize - 1];
        assert!(line.contains("raw") || line.contains("docs"), "{f:?} points at {line:?}");
        assert_eq!(f.files, ["demo-1.0.tar.gz"]);
    }
}

#[test]
fn plain_and_missing_descriptions() {
    let h = html("text/plain", "line <one>\nline two");
    assert_eq!(h, "<p>line &lt;one&gt;<br>\nline two</p>");
    let d = description(&md("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"));
    assert_eq!((d.format, d.html, d.lines.len(), d.content_type.as_str()), ("none", None, 0, "text/x-rst"));
}

#[test]
fn control_and_bidi_characters_are_escaped_everywhere() {
    let m = md("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: safe\u{202e}txt.exe\nDescription-Content-Type: text/markdown\n\n# a\u{202e}b\n\n`c\u{202e}d`\n");
    let name = DistFilename::parse("demo-1.0-py3-none-any.whl").unwrap();
    let p = release(&[PreviewFile { filename: &name, size: 1, metadata: &m, digests: None }]);
    assert_eq!(p.summary.as_deref(), Some("safe\\u{202e}txt.exe"));
    let h = p.description.html.unwrap();
    assert!(!h.contains('\u{202e}') && h.contains("a\\u{202e}b") && h.contains("c\\u{202e}d"), "{h}");
}

const WHEEL_MD: &str = "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.0\nSummary: A demo\nHome-page: https://home.example.org/\n\
    Download-URL: https://dl.example.org/demo-1.0.tar.gz\nProject-URL: Source, https://git.example.org/demo\nProject-URL: Evil, javascript:alert(1)\n\
    Classifier: Programming Language :: Python :: 3\nClassifier: Programming Language :: Python :: 3.12\nClassifier: License :: OSI Approved :: MIT License\n\
    Requires-Python: >=3.9\nLicense: MIT\nAuthor: Zoë\nKeywords: a, b,c\nDescription-Content-Type: text/markdown\n\n# Demo\n";

#[test]
fn a_release_groups_its_files_wheel_first_with_links_classifiers_and_digests() {
    let wheel_md = md(WHEEL_MD);
    let sdist_md = md(&WHEEL_MD.replace("Summary: A demo", "Summary: Another demo").replace("Requires-Python: >=3.9", "Requires-Python: >=3.8"));
    let other_md = md("Metadata-Version: 2.1\nName: other\nVersion: 2.0\n");
    let (sdist, wheel, other) = (
        DistFilename::parse("demo_pkg-1.0.tar.gz").unwrap(),
        DistFilename::parse("Demo_Pkg-1.0-py3-none-any.whl").unwrap(),
        DistFilename::parse("other-2.0-py3-none-any.whl").unwrap(),
    );
    let d = digest_bytes(b"wheel bytes");
    let files = [
        PreviewFile { filename: &sdist, size: 300, metadata: &sdist_md, digests: None },
        PreviewFile { filename: &other, size: 5, metadata: &other_md, digests: None },
        PreviewFile { filename: &wheel, size: 200, metadata: &wheel_md, digests: Some(&d) },
    ];
    let rs = releases(&files);
    assert_eq!(rs.iter().map(|r| (r.name.as_str(), r.version.as_str())).collect::<Vec<_>>(), [("Demo_Pkg", "1.0"), ("other", "2.0")]);
    let r = &rs[0];
    assert_eq!(r.metadata_from, "Demo_Pkg-1.0-py3-none-any.whl", "PyPI keeps the first uploaded file's metadata: the wheel's");
    assert_eq!(r.summary.as_deref(), Some("A demo"));
    assert_eq!(r.requires_python.as_deref(), Some(">=3.9"));
    assert_eq!(
        r.files.iter().map(|f| (f.filename.as_str(), f.kind.as_str(), f.size)).collect::<Vec<_>>(),
        [("Demo_Pkg-1.0-py3-none-any.whl", "wheel py3-none-any", 200), ("demo_pkg-1.0.tar.gz", "sdist (tar.gz)", 300)]
    );
    assert_eq!(r.files[0].digests.as_ref().map(|d| d.sha256.as_str()), Some(d.sha256.as_str()));
    assert_eq!(r.files[1].digests, None);
    let links: Vec<(&str, &str, Option<&str>, &str)> = r.links.iter().map(|l| (l.label.as_str(), l.url.as_str(), l.href.as_deref(), l.field)).collect();
    assert_eq!(
        links,
        [
            ("Source", "https://git.example.org/demo", Some("https://git.example.org/demo"), "project-url"),
            ("Evil", "javascript:alert(1)", None, "project-url"),
            ("Homepage", "https://home.example.org/", Some("https://home.example.org/"), "home-page"),
            ("Download", "https://dl.example.org/demo-1.0.tar.gz", Some("https://dl.example.org/demo-1.0.tar.gz"), "download-url"),
        ]
    );
    assert_eq!(
        r.classifiers,
        [
            ClassifierGroup { group: "Programming Language".into(), items: vec!["Python :: 3".into(), "Python :: 3.12".into()] },
            ClassifierGroup { group: "License".into(), items: vec!["OSI Approved :: MIT License".into()] },
        ]
    );
    let details: Vec<(&str, &str)> = r.details.iter().map(|d| (d.label, d.value.as_str())).collect();
    assert_eq!(details, [("License", "MIT"), ("Author", "Zoë"), ("Keywords", "a, b, c")]);
    assert_eq!(r.notes, ["demo_pkg-1.0.tar.gz has a different summary, Requires-Python from Demo_Pkg-1.0-py3-none-any.whl; PyPI shows the metadata of the first file uploaded, Demo_Pkg-1.0-py3-none-any.whl."]);
    assert!(r.description.html.as_deref().unwrap().contains("<h1>Demo</h1>"));
    assert!(!r.blocking && r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn findings_name_every_file_they_are_in() {
    let m = md("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nClassifier: Programming Language :: Cobol :: 9\n");
    let (w, s) = (DistFilename::parse("demo-1.0-py3-none-any.whl").unwrap(), DistFilename::parse("demo-1.0.tar.gz").unwrap());
    let r = release(&[PreviewFile { filename: &s, size: 1, metadata: &m, digests: None }, PreviewFile { filename: &w, size: 1, metadata: &m, digests: None }]);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].files, ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]);
    assert_eq!((r.findings[0].code, r.findings[0].line, r.findings[0].blocking, r.blocking), ("classifier.unknown", None, true, true));
    assert!(r.notes.is_empty());
}

/// Every README of the corpus: one PyPI renders renders here as safe HTML with its
/// structure (no explicit markup left as text outside preformatted blocks); one PyPI refuses is
/// shown as its lines.
#[test]
fn corpus_readmes_render_or_show_their_lines() {
    let mut rendered = 0;
    for (name, text) in super::readmes::READMES {
        // A form feed (docutils' own README) is a control character no metadata may carry.
        let Ok(m) = Metadata::parse(format!("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n{text}").as_bytes()) else { continue };
        let d = description(&m);
        if !pypublish::checks::rst::renders(text) {
            assert_eq!(d.html, None, "{name}");
            assert!(!d.lines.is_empty() || text.trim().is_empty(), "{name}");
            continue;
        }
        let h = d.html.unwrap_or_else(|| panic!("{name} renders on PyPI"));
        assert_safe(&h);
        assert!(h.contains("<p>") || h.contains("<pre>"), "{name}: {h}");
        let outside_pre: String = h.split("<pre>").map(|part| part.split_once("</pre>").map_or(part, |(_, after)| after)).collect();
        for leak in ["\n.. _", "\n.. |", "\n.. image::", "\n.. code-block::"] {
            assert!(!outside_pre.contains(leak), "{name}: explicit markup shown as text ({leak:?}):\n{h}");
        }
        rendered += 1;
    }
    assert!(rendered >= 100, "{rendered} corpus READMEs rendered");
}

const PREVIEW_TS: &str = include_str!("../../src/wasm/preview.rs");

/// The top-level field names of `export interface NAME { ... }` in the wasm shell's declarations.
fn ts_fields(name: &str) -> std::collections::BTreeSet<String> {
    let start = PREVIEW_TS.find(&format!("export interface {name} ")).unwrap_or_else(|| panic!("no interface {name}"));
    let open = start + PREVIEW_TS[start..].find('{').unwrap();
    let (mut depth, mut out, mut word, mut in_comment) = (0, std::collections::BTreeSet::new(), String::new(), false);
    let body: Vec<char> = PREVIEW_TS[open..].chars().collect();
    for (i, &c) in body.iter().enumerate() {
        if in_comment {
            in_comment = !(c == '/' && body[i - 1] == '*');
            continue;
        }
        match c {
            '/' if body.get(i + 1) == Some(&'*') => in_comment = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ':' if depth == 1 && !word.is_empty() => {
                out.insert(word.trim_end_matches('?').to_string());
            }
            _ => {}
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '?' {
            word.push(c);
        } else if c != ':' {
            word.clear();
        }
    }
    out
}

fn keys(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn typescript_declarations_match_the_serialised_preview() {
    let m = md(&WHEEL_MD.replacen("Name:", "Classifier: Nope :: Nope\nName:", 1));
    let name = DistFilename::parse("Demo_Pkg-1.0-py3-none-any.whl").unwrap();
    let d = digest_bytes(b"x");
    let v = serde_json::to_value(release(&[PreviewFile { filename: &name, size: 1, metadata: &m, digests: Some(&d) }])).unwrap();
    assert_eq!(keys(&v), ts_fields("ReleasePreview"));
    assert_eq!(keys(&v["description"]), ts_fields("DescriptionPreview"));
    assert_eq!(keys(&v["links"][0]), ts_fields("PreviewLink"));
    assert_eq!(keys(&v["findings"][0]), ts_fields("PreviewFinding"));
    // The inline object types, as declared.
    for (value, declared) in [
        (&v["classifiers"][0], "classifiers: { group: string; items: string[] }[];"),
        (&v["details"][0], "details: { label: string; value: string }[];"),
        (&v["files"][0], "files: { filename: string; kind: string; size: number; digests: Digests | null }[];"),
    ] {
        assert!(PREVIEW_TS.contains(declared), "{declared}");
        let inner = &declared[declared.find('{').unwrap() + 1..declared.rfind('}').unwrap()];
        let fields: std::collections::BTreeSet<String> = inner.split(';').filter_map(|p| p.split_once(':')).map(|(k, _)| k.trim().to_string()).collect();
        assert_eq!(keys(value), fields, "{declared}");
    }
    assert_eq!(keys(&v["files"][0]["digests"]), ["blake2_256", "len", "md5", "sha256"].map(String::from).into_iter().collect());
}

#[test]
fn deep_and_long_rst_renders_without_unbounded_work() {
    // 45 nested block quotes: past the renderer's depth the rest is shown as text.
    let deep: String = (0..45).map(|d| format!("{}level {d}\n\n", " ".repeat(d * 2))).collect();
    assert!(pypublish::checks::rst::renders(&deep));
    let h = html("text/x-rst", &deep);
    assert!(h.contains("<p>level 0</p>") && h.contains("<pre>") && h.contains("level 44"), "{h}");
    // One 200,000-character word of the kind each of whose parts could start markup.
    let long = format!("{}x\n", "a.b_c:".repeat(33_333));
    let h = html("text/x-rst", &long);
    assert!(h.len() > 199_000, "{}", h.len());
}

#[test]
fn the_allowed_tags_hold_nothing_that_runs_loads_or_submits() {
    for tag in [
        "script", "style", "iframe", "frame", "object", "embed", "form", "input", "button", "link", "meta", "base", "svg", "math", "img", "video", "audio",
        "source", "template", "textarea", "select",
    ] {
        assert!(!ALLOWED_TAGS.contains(&tag), "<{tag}> must not survive the sanitiser");
    }
}
