//! Reading a schema file so that every problem names its line: every error serde meets (not
//! only the first), and where each key is, for the problems found later (a reference the blank
//! template lacks, a source no total includes).

use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Where each key of a TOML document is: its path (`income.sections[2].header`) → its line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLines(BTreeMap<String, usize>);

impl KeyLines {
    /// The line of `path`, or else of the nearest key above it (`income.sections[2]` for
    /// `income.sections[2].total` when that key is not written).
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(&line) = self.0.get(p) {
                return Some(line);
            }
            p = &p[..p.rfind(['.', '['])?];
        }
    }

    fn of(text: &str, table: &DeTable<'_>) -> KeyLines {
        let mut lines = KeyLines::default();
        lines.walk(text, table, "");
        lines
    }

    fn walk(&mut self, text: &str, table: &DeTable<'_>, prefix: &str) {
        for (key, value) in table.iter() {
            let path =
                if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
            self.0.insert(path.clone(), line_at(text, key.span().start));
            self.value(text, value, &path);
        }
    }

    fn value(&mut self, text: &str, value: &Spanned<DeValue<'_>>, path: &str) {
        match value.get_ref() {
            DeValue::Table(t) => self.walk(text, t, path),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{path}[{i}]");
                    self.0.insert(at.clone(), line_at(text, item.span().start));
                    self.value(text, item, &at);
                }
            }
            _ => {}
        }
    }
}

/// The 1-based line of a byte offset.
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A problem in a schema file at a line, if one is known.
pub type Located = (Option<usize>, String);

/// Reads `text` as a `T`, reporting every error serde meets: after each, the key it points at
/// is set aside and the rest is read again, so a file with three mistyped values gets three
/// problems, each on its line (in line order). `None` when the file could not be read whole.
pub fn parse<T: DeserializeOwned>(text: &str) -> (Option<T>, KeyLines, Vec<Located>) {
    let (t, lines, mut problems) = parse_unsorted(text);
    problems.sort_by_key(|(line, _)| line.unwrap_or(usize::MAX));
    (t, lines, problems)
}

fn parse_unsorted<T: DeserializeOwned>(text: &str) -> (Option<T>, KeyLines, Vec<Located>) {
    let (root, syntax) = DeTable::parse_recoverable(text);
    let at = |e: &toml::de::Error| e.span().map(|s| line_at(text, s.start));
    if !syntax.is_empty() {
        return (None, KeyLines::default(), syntax.iter().map(|e| (at(e), e.message().to_string())).collect());
    }
    let lines = KeyLines::of(text, root.get_ref());
    let mut problems = Vec::new();
    let mut root = root;
    let mut set_aside: BTreeSet<String> = BTreeSet::new();
    // Each round sets a key aside, so the rounds end; the bound is a guard.
    for _ in 0..=lines.0.len() {
        let error = match T::deserialize(toml::de::Deserializer::from(root.clone())) {
            Ok(t) if problems.is_empty() => return (Some(t), lines, problems),
            Ok(_) => return (None, lines, problems),
            Err(e) => e,
        };
        let message = error.message().to_string();
        let replacement = stand_in(&message);
        // A key set aside can then be missing: that says nothing new.
        if set_aside.iter().any(|k| message == format!("missing field `{k}`")) {
            break;
        }
        problems.push((at(&error), message));
        let Some(span) = error.span() else { break };
        match set_aside_at(root.get_mut(), span.start, replacement) {
            Some(key) => {
                // Name the key when serde's words do not ("invalid type: string …").
                if let Some((_, message)) = problems.last_mut().filter(|(_, m)| !m.contains(&format!("`{key}`"))) {
                    *message = format!("`{key}`: {message}");
                }
                set_aside.insert(key);
            }
            None => break,
        }
    }
    (None, lines, problems)
}

/// A value of the type serde expected, when its words say which (`expected a boolean`,
/// `expected one of `plan`, `actual``): the key keeps a value of the right type and the rest of
/// its table is read on. Other mistakes set the key aside.
fn stand_in(message: &str) -> Option<DeValue<'static>> {
    let about_the_value = ["invalid type", "invalid value", "unknown variant"].iter().any(|m| message.starts_with(m));
    let expected = message.rsplit_once("expected ").filter(|_| about_the_value)?.1;
    if let Some(variant) = expected.split('`').nth(1) {
        return Some(DeValue::String(std::borrow::Cow::Owned(variant.to_string())));
    }
    let integers = ["u8", "u16", "u32", "u64", "usize", "i32", "i64", "an integer"];
    match expected {
        "a boolean" => Some(DeValue::Boolean(false)),
        "a string" | "a borrowed string" => Some(DeValue::String(std::borrow::Cow::Borrowed(""))),
        "a sequence" => DeValue::parse("[]").ok().map(Spanned::into_inner),
        e if integers.contains(&e) => DeValue::parse("0").ok().map(Spanned::into_inner),
        _ => None,
    }
}

/// Gives the key whose key or value holds `offset` (and whose value is not a table: an error
/// about a whole table cannot be got past this way) a stand-in value of the type expected, or
/// else removes it; the key's name. Tables are searched whatever their own spans say: an array
/// of tables spans only its `[[header]]`.
fn set_aside_at(table: &mut DeTable<'_>, offset: usize, stand_in: Option<DeValue<'static>>) -> Option<String> {
    let holds = |s: std::ops::Range<usize>| s.start <= offset && offset < s.end.max(s.start + 1);
    let has_tables = |v: &DeValue<'_>| match v {
        DeValue::Table(_) => true,
        DeValue::Array(items) => items.iter().any(|i| i.get_ref().is_table()),
        _ => false,
    };
    let here = table.iter().find(|(k, v)| !has_tables(v.get_ref()) && (holds(k.span()) || holds(v.span())));
    if let Some(key) = here.map(|(k, _)| k.clone()) {
        match (stand_in, table.get_mut(&key)) {
            (Some(v), Some(slot)) => *slot = Spanned::new(slot.span(), v),
            _ => {
                table.remove(&key);
            }
        }
        return Some(key.get_ref().to_string());
    }
    for (_, value) in table.iter_mut() {
        let found = match value.get_mut() {
            DeValue::Table(inner) => set_aside_at(inner, offset, stand_in.clone()),
            DeValue::Array(items) => items.iter_mut().find_map(|item| match item.get_mut() {
                DeValue::Table(inner) => set_aside_at(inner, offset, stand_in.clone()),
                _ => None,
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        count: u32,
        #[serde(default)]
        flag: bool,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        title: String,
        #[serde(default)]
        required: bool,
    }

    #[test]
    fn every_type_error_is_reported_on_its_line() {
        let text = "name = \"a\"\ncount = \"three\"\nflag = \"yes\"\ncolour = 1\n\n[[items]]\ntitle = \"x\"\nrequired = \"no\"\n";
        let (doc, lines, problems) = parse::<Doc>(text);
        assert!(doc.is_none());
        let at: Vec<Option<usize>> = problems.iter().map(|(l, _)| *l).collect();
        assert_eq!(at, [Some(2), Some(3), Some(4), Some(8)], "{problems:?}");
        assert!(problems[2].1.contains("unknown field `colour`"), "{problems:?}");
        assert_eq!(lines.line("items[0].required"), Some(8));
        assert_eq!(lines.line("items[0].missing"), Some(6), "the nearest key above");
        let two = "name = \"a\"\ncount = 3\n[[items]]\ntitle = \"x\"\nrequired = \"no\"\n[[items]]\ntitle = \"y\"\nrequired = \"yes\"\n";
        let (_, _, problems) = parse::<Doc>(two);
        assert_eq!(problems.iter().map(|p| p.0).collect::<Vec<_>>(), [Some(5), Some(8)], "{problems:?}");
        let inline = "name = \"a\"\ncount = 3\nitems = [\n  { title = \"x\", required = \"no\" },\n  { title = \"y\", required = \"yes\" },\n]\n";
        let (_, _, problems) = parse::<Doc>(inline);
        assert_eq!(problems.iter().map(|p| p.0).collect::<Vec<_>>(), [Some(4), Some(5)], "{problems:?}");
        let ok = parse::<Doc>("name = \"a\"\ncount = 3\nitems = []\n");
        assert!(ok.0.is_some() && ok.2.is_empty());
        let broken = parse::<Doc>("name = \"a\ncount = 3\n");
        assert_eq!(broken.2.first().map(|p| p.0), Some(Some(1)), "a syntax error on its line: {:?}", broken.2);
    }
}
