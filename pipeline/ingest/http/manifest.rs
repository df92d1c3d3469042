//! The manifest: fetched as a stream with a cap on its size and on the files it lists, its
//! paths resolved below the manifest's folder, and each path downloaded once.

use super::retry::{truncated, with_retries, AttemptError, Speed};
use super::{HttpError, HttpOptions, ManifestEntry};
use reqwest::{StatusCode, Url};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt;

/// One entry to act on: a path to download, or a path listed again.
pub enum Entry {
    Download(ManifestEntry),
    /// A later entry of a path listed before: `index` is its place in the manifest (1-based).
    Repeated {
        path: String,
        index: usize,
        first: usize,
    },
}

/// Fetches and parses the manifest (with retries).
pub async fn fetch(client: &reqwest::Client, url: &Url, opts: &HttpOptions) -> Result<Vec<ManifestEntry>, HttpError> {
    let (body, _) = with_retries(opts, "manifest", url.as_str(), || body(client, url, opts)).await;
    let body = body.map_err(|reason| HttpError::ManifestFetch { url: url.to_string(), reason })?;
    parse(&body, opts.max_manifest_entries).map_err(|reason| HttpError::ManifestParse { url: url.to_string(), reason })
}

/// One attempt at the manifest's body, refused beyond the size cap as it streams.
async fn body(client: &reqwest::Client, url: &Url, opts: &HttpOptions) -> Result<Vec<u8>, AttemptError> {
    let resp = client.get(url.clone()).send().await.map_err(|e| super::retry::classify_send_error(&e, opts))?;
    if resp.status() != StatusCode::OK {
        return Err(super::retry::classify_status(resp.status(), resp.headers()));
    }
    let cap = opts.max_manifest_bytes;
    let too_big = || {
        AttemptError::Final(format!(
            "the manifest is larger than {}: split it, or raise the limit",
            super::retry::fmt_bytes(cap)
        ))
    };
    let declared = super::retry::content_length(resp.headers());
    if declared.is_some_and(|len| len > cap) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    let mut speed = Speed::new(opts);
    while let Some(chunk) = speed.next(&mut stream).await? {
        let chunk = chunk.map_err(|e| super::retry::classify_body_error(&e, body.len() as u64, declared, opts))?;
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    match declared {
        Some(len) if body.len() as u64 != len => Err(truncated(body.len() as u64, Some(len))),
        _ => Ok(body),
    }
}

/// `{"files": [...]}` with at most `max` entries; other keys are ignored.
pub fn parse(body: &[u8], max: usize) -> Result<Vec<ManifestEntry>, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let files = Manifest { max }.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    files.ok_or_else(|| "it has no \"files\" list".to_string())
}

struct Manifest {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for Manifest {
    type Value = Option<Vec<ManifestEntry>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Manifest {
    type Value = Option<Vec<ManifestEntry>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"files\" list")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut files = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "files" {
                files = Some(map.next_value_seed(Files { max: self.max })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(files)
    }
}

/// The `files` list, refused as soon as it holds more than `max` entries.
struct Files {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for Files {
    type Value = Vec<ManifestEntry>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Files {
    type Value = Vec<ManifestEntry>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of files")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = seq.next_element::<ManifestEntry>()? {
            if out.len() == self.max {
                return Err(de::Error::custom(format!(
                    "it lists more than {} files: split it into manifests of at most {} files, or raise --max-manifest-entries",
                    self.max, self.max
                )));
            }
            out.push(entry);
        }
        Ok(out)
    }
}

/// Each path once: a path listed again is an entry of its own, reported, not downloaded.
pub fn once_each(entries: Vec<ManifestEntry>) -> Vec<Entry> {
    let mut first: HashMap<String, usize> = HashMap::new();
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| match first.get(&e.path) {
            Some(&f) => Entry::Repeated { path: e.path, index: i + 1, first: f },
            None => {
                first.insert(e.path.clone(), i + 1);
                Entry::Download(e)
            }
        })
        .collect()
}

/// Resolve a manifest path against the manifest URL, refusing anything that
/// is not a plain relative path below the manifest's directory.
pub fn resolve_path(base: &Url, path: &str) -> Result<Url, String> {
    let refuse = |why: &str| Err(format!("unsafe manifest path {path:?}: {why}"));
    if path.is_empty() {
        return refuse("it is empty");
    }
    if path.starts_with('/') {
        return refuse("it is absolute");
    }
    if path.contains('\\') {
        return refuse("it contains a backslash");
    }
    if path.chars().any(|c| c.is_control()) {
        return refuse("it contains a control character");
    }
    if path.contains(['?', '#']) {
        return refuse("it contains '?' or '#'");
    }
    if path.contains(':') {
        return refuse("it contains ':' (it could name a scheme or a drive)");
    }
    for segment in path.split('/') {
        if segment.is_empty() {
            return refuse("it has an empty segment");
        }
        // URL parsing treats "%2e" as "." as well.
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return refuse("it has a '.' or '..' segment");
        }
    }
    let url = base.join(path).map_err(|e| format!("unsafe manifest path {path:?}: {e}"))?;
    // The result must stay on the manifest's origin, below the manifest's directory.
    let dir = base.path().rfind('/').map_or("/", |i| &base.path()[..=i]);
    if url.origin() != base.origin() || !url.path().starts_with(dir) {
        return refuse("it resolves outside the manifest's directory");
    }
    Ok(url)
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_safe_paths_and_refuses_unsafe_ones() {
        let base = Url::parse("http://127.0.0.1:8080/returns/manifest.json").unwrap();
        assert_eq!(
            resolve_path(&base, "2023-25/Kent.xlsx").unwrap().as_str(),
            "http://127.0.0.1:8080/returns/2023-25/Kent.xlsx"
        );
        assert_eq!(
            resolve_path(&base, "East Sussex.xlsx").unwrap().as_str(),
            "http://127.0.0.1:8080/returns/East%20Sussex.xlsx"
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x.xlsx",
            "a/../../x",
            "a//b",
            "a/",
            "a\\b",
            "./a",
            "%2e%2e/x",
            "a/%2E%2e/x",
            "http://evil.example/x",
            "//evil.example/x",
            "a?b",
            "a#b",
            "C:/x",
            "a\nb",
        ] {
            assert!(resolve_path(&base, bad).is_err(), "{bad:?} accepted");
        }
        assert!(is_sha256_hex(&"aB".repeat(32)));
        assert!(!is_sha256_hex("abc"));
    }

    #[test]
    fn a_manifest_over_the_entry_cap_is_refused_as_it_is_read() {
        let manifest = |n: usize| {
            let files: Vec<String> = (0..n).map(|i| format!(r#"{{"path":"f{i}.xlsx"}}"#)).collect();
            format!(r#"{{"version":2,"files":[{}]}}"#, files.join(","))
        };
        assert_eq!(parse(manifest(3).as_bytes(), 3).unwrap().len(), 3);
        let err = parse(manifest(4).as_bytes(), 3).unwrap_err();
        assert!(err.contains("more than 3 files") && err.contains("--max-manifest-entries"), "{err}");
        assert!(parse(br#"{"other":[]}"#, 3).unwrap_err().contains(r#"no "files" list"#));
    }

    #[test]
    fn a_path_listed_twice_is_downloaded_once_and_reported() {
        let e = |p: &str| ManifestEntry { path: p.into(), sha256: None, bytes: None };
        let entries = once_each(vec![e("a.xlsx"), e("b.xlsx"), e("a.xlsx")]);
        assert!(matches!(&entries[0], Entry::Download(x) if x.path == "a.xlsx"));
        assert!(matches!(&entries[2], Entry::Repeated { path, index: 3, first: 1 } if path == "a.xlsx"));
    }
}
