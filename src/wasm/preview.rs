//! `previewReleases`: the page's release preview (feature `preview`, package `pkg-www/` only).
//!
//! Reads each file's metadata member again (a few range reads) rather than trusting a copy
//! held in JS, and hands the parsed metadata to [`crate::preview`].

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use super::source::{name_of, read_member, Source};
use super::{core_error, js_error, to_js};
use crate::digest::DigestSet;
use crate::filename::DistFilename;
use crate::metadata::Metadata;
use crate::preview::{releases, PreviewFile};
use crate::report::Kind;
use crate::Error;

#[wasm_bindgen(typescript_custom_section)]
const TS_PREVIEW: &str = r#"
/** One file for `previewReleases`: the file, and its digests when already computed. */
export interface PreviewSource { file: Blob | File | Uint8Array | ArrayBuffer; filename?: string; digests?: Digests | null }
/** What PyPI will show for one release. Every string is escaped; `description.html` is sanitised HTML. */
export interface ReleasePreview {
  name: string;
  version: string;
  summary: string | null;
  /** The file whose metadata PyPI keeps: the first uploaded (wheels go first). */
  metadataFrom: string;
  description: DescriptionPreview;
  links: PreviewLink[];
  classifiers: { group: string; items: string[] }[];
  requiresPython: string | null;
  details: { label: string; value: string }[];
  files: { filename: string; kind: string; size: number; digests: Digests | null }[];
  findings: PreviewFinding[];
  /** Where the files' metadata differ. */
  notes: string[];
  blocking: boolean;
}
/** The description as PyPI renders it (`html`), or its lines when PyPI would refuse it. */
export interface DescriptionPreview { contentType: string; format: "markdown" | "rst" | "text" | "none"; html: string | null; lines: string[] }
/** A project link; `href` only for http(s) URLs. */
export interface PreviewLink { label: string; url: string; href: string | null; field: "project-url" | "home-page" | "download-url" }
/** A finding of PyPI's checks, with the files it is in; `line` is 1-based in the description. */
export interface PreviewFinding { code: string; field: string; line: number | null; message: string; blocking: boolean; files: string[] }
"#;

/// What PyPI will show for each release among `files` (grouped by name and version).
#[wasm_bindgen(js_name = previewReleases, unchecked_return_type = "ReleasePreview[]")]
pub async fn preview_releases(#[wasm_bindgen(unchecked_param_type = "PreviewSource[]")] files: JsValue) -> Result<JsValue, JsValue> {
    if !Array::is_array(&files) {
        return Err(js_error(Kind::Input, "previewReleases() takes an array of { file, filename?, digests? }", None));
    }
    let mut read: Vec<(DistFilename, u64, Metadata, Option<DigestSet>)> = Vec::new();
    for entry in Array::from(&files).iter() {
        let get = |k: &str| Reflect::get(&entry, &k.into()).unwrap_or(JsValue::UNDEFINED);
        let file = get("file");
        let source = Source::from_js(&file).map_err(|e| js_error(Kind::Input, &e, None))?;
        let name =
            get("filename").as_string().or_else(|| name_of(&file)).ok_or_else(|| js_error(Kind::Input, "a file given as bytes needs a filename", None))?;
        let dist = DistFilename::parse(&name).map_err(|e| core_error(&Error::from(e)))?;
        let (member, _) = read_member(&source, &dist).await.map_err(|(kind, message)| js_error(kind, &message, kind.hint()))?;
        let wrap = |source| Error::Metadata { file: dist.raw.clone(), source };
        let md = Metadata::parse(&member.bytes).map_err(|e| core_error(&wrap(e)))?;
        md.check_filename(&dist).map_err(|e| core_error(&wrap(e)))?;
        read.push((dist, source.size(), md, digests_of(&get("digests"))));
    }
    let files: Vec<PreviewFile<'_>> = read.iter().map(|(f, size, md, d)| PreviewFile { filename: f, size: *size, metadata: md, digests: d.as_ref() }).collect();
    to_js(&releases(&files)).map_err(|e| js_error(Kind::Input, &format!("could not convert the preview: {e}"), None))
}

/// Digests handed back from `inspect()`: shown only when each is lowercase hex of its length.
fn digests_of(v: &JsValue) -> Option<DigestSet> {
    let hex = |k: &str, len: usize| {
        Reflect::get(v, &k.into()).ok()?.as_string().filter(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    };
    if !v.is_object() {
        return None;
    }
    let len = Reflect::get(v, &"len".into()).ok().and_then(|l| l.as_f64()).unwrap_or(0.0) as u64;
    Some(DigestSet { sha256: hex("sha256", 64)?, md5: hex("md5", 32)?, blake2_256: hex("blake2_256", 64)?, len })
}
