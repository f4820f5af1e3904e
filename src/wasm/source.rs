//! Where a distribution's bytes come from in JS: a `Blob`/`File`, bytes, or a stream source.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::stream::{ReadError, Reader, StreamSource};
use crate::archive::{MetadataFile, MetadataReader, Step};
use crate::digest::{DigestSet, Digester};
use crate::filename::DistFilename;
use crate::report::Kind;

/// A file's bytes.
#[derive(Clone)]
pub(crate) enum Source {
    Blob(Blob),
    Bytes(Uint8Array),
    Stream(std::rc::Rc<StreamSource>),
}

impl Source {
    /// A Blob, File, Uint8Array, ArrayBuffer or `{ size, stream() }`.
    pub(crate) fn from_js(v: &JsValue) -> Result<Self, String> {
        if let Some(b) = v.dyn_ref::<Blob>() {
            Ok(Source::Blob(b.clone()))
        } else if let Some(u) = v.dyn_ref::<Uint8Array>() {
            Ok(Source::Bytes(u.clone()))
        } else if v.is_instance_of::<js_sys::ArrayBuffer>() {
            Ok(Source::Bytes(Uint8Array::new(v)))
        } else if let Some(s) = StreamSource::from_js(v) {
            s.map(|s| Source::Stream(std::rc::Rc::new(s)))
        } else {
            Err("expected a Blob, File, Uint8Array, ArrayBuffer or { size, stream() }".into())
        }
    }

    /// Size in bytes.
    pub(crate) fn size(&self) -> u64 {
        match self {
            Source::Blob(b) => b.size() as u64,
            Source::Bytes(u) => u.length() as u64,
            Source::Stream(s) => s.size,
        }
    }

    /// `len` bytes from `offset` (fewer at the end).
    pub(crate) async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let end = offset.saturating_add(len).min(self.size());
        let part = match self {
            Source::Bytes(u) => u.subarray(offset.min(end) as u32, end as u32),
            Source::Blob(b) => {
                let part = b.slice_with_f64_and_f64(offset as f64, end as f64).map_err(describe)?;
                Uint8Array::new(&JsFuture::from(part.array_buffer()).await.map_err(describe)?)
            }
            Source::Stream(s) => s.read_range(offset, len).await?,
        };
        Ok(part.to_vec())
    }

    /// sha256, md5 and blake2b-256 in one pass. A Blob is read through one reused buffer (a BYOB
    /// reader over `blob.stream()` where the runtime has one) so reading leaves no garbage; a
    /// stream source must give exactly its size (and its sha256, when given).
    pub(crate) async fn digest(&self, on: &dyn Fn(u64, u64)) -> Result<DigestSet, ReadError> {
        let size = self.size();
        let mut d = Digester::new();
        on(0, size);
        let reader = match self {
            Source::Bytes(u) => {
                let mut buf = vec![0u8; crate::HASH_CHUNK.min(size) as usize];
                while d.len() < size {
                    let n = crate::HASH_CHUNK.min(size - d.len()) as usize;
                    u.subarray(d.len() as u32, d.len() as u32 + n as u32).copy_to(&mut buf[..n]);
                    d.update(&buf[..n]);
                    on(d.len(), size);
                }
                return Ok(d.finish());
            }
            Source::Blob(b) => Reader::reusing(&b.stream())?,
            Source::Stream(s) => s.open_with(true).await?,
        };
        let mut buf = Vec::new();
        while let Some(chunk) = reader.next().await? {
            if d.len() + chunk.length() as u64 > size {
                reader.cancel();
                return Err(ReadError::lasting(format!("it is longer than its stated size of {size} bytes")));
            }
            buf.resize(chunk.length() as usize, 0);
            chunk.copy_to(&mut buf);
            d.update(&buf);
            on(d.len(), size);
        }
        if d.len() != size {
            return Err(ReadError::lasting(format!("it ended after {} of its stated {size} bytes", d.len())));
        }
        Ok(d.finish())
    }
}

/// Drives the core's range reader over a JS source; errors as `(kind, message)`.
pub(crate) async fn read_member(source: &Source, file: &DistFilename) -> Result<(MetadataFile, u64), (Kind, String)> {
    let mut reader = MetadataReader::new(file, source.size());
    loop {
        match reader.step() {
            Step::Done(Ok(m)) => return Ok((m, reader.bytes_read())),
            Step::Done(Err(e)) => {
                let e = crate::Error::from(e);
                return Err((e.kind(), e.to_string()));
            }
            Step::Need(range) => {
                let unreadable = |d: String| (Kind::Source, format!("{} could not be read: {d}", file.raw));
                let data = source.read(range.offset, range.len).await.map_err(unreadable)?;
                if data.is_empty() {
                    return Err(unreadable("it is shorter than its own directory says".into()));
                }
                reader.supply(range.offset, data);
            }
        }
    }
}

/// The file name a JS value carries (`File.name`, or `filename`).
pub(crate) fn name_of(v: &JsValue) -> Option<String> {
    if let Some(f) = v.dyn_ref::<web_sys::File>() {
        return Some(f.name());
    }
    Reflect::get(v, &"filename".into()).ok().and_then(|n| n.as_string())
}

pub(crate) fn describe(v: JsValue) -> String {
    v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| v.as_string()).unwrap_or_else(|| "the runtime refused to read the file".into())
}
