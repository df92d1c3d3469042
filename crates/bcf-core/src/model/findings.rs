//! A file's findings, bounded whatever the file holds: a sheet of a million identical faults
//! gives a few dozen findings and one that counts the rest, not gigabytes of outputs.

use super::{Acceptance, Finding, Rule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Findings of one rule kept per file: the first ones, in reading order.
pub const MAX_PER_RULE: usize = 50;
/// Echoed text (a sheet name, a cell's text, a message quoting them) is cut to this many
/// characters, so one 3 MB sheet name cannot become a 3 MB message in every output.
pub const MAX_TEXT_CHARS: usize = 300;

/// The findings of one file, in the order they were found. Stored (and compared) as the list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Finding>", into = "Vec<Finding>")]
pub struct Findings {
    list: Vec<Finding>,
    /// Per rule, how many findings are kept, and how many were found beyond [`MAX_PER_RULE`].
    counts: BTreeMap<Rule, (usize, usize)>,
}

impl PartialEq for Findings {
    fn eq(&self, other: &Findings) -> bool {
        self.list == other.list
    }
}

impl Eq for Findings {}

impl Findings {
    pub fn new() -> Findings {
        Findings::default()
    }

    /// Keeps `f` (with its text cut to [`MAX_TEXT_CHARS`]) unless its rule already has
    /// [`MAX_PER_RULE`] findings here; then only counts it.
    pub fn push(&mut self, mut f: Finding) {
        let (kept, left_out) = self.counts.entry(f.rule).or_default();
        if *kept >= MAX_PER_RULE {
            *left_out += 1;
            return;
        }
        *kept += 1;
        f.message = cut(f.message, MAX_TEXT_CHARS * 2);
        f.sheet = f.sheet.map(|s| cut(s, MAX_TEXT_CHARS));
        f.detail = f.detail.map(|d| cut(d, MAX_TEXT_CHARS * 2));
        self.list.push(f);
    }

    /// Marks as accepted those of the findings `picks` chooses that no decision has accepted
    /// yet; how many.
    pub fn accept(&mut self, picks: impl Fn(&Finding) -> bool, acceptance: &Acceptance) -> usize {
        let mut n = 0;
        for f in self.list.iter_mut().filter(|f| f.accepted.is_none() && picks(f)) {
            f.accepted = Some(Box::new(acceptance.clone()));
            n += 1;
        }
        n
    }

    /// Marks the finding at `index` accepted (restoring a saved validation).
    pub fn accept_at(&mut self, index: usize, acceptance: Acceptance) {
        if let Some(f) = self.list.get_mut(index) {
            f.accepted = Some(Box::new(acceptance));
        }
    }

    /// Adds, per rule with findings left out, one finding that says how many.
    pub fn finish(&mut self) {
        for (&rule, (_, left_out)) in self.counts.iter_mut() {
            let n = std::mem::take(left_out);
            if n == 0 {
                continue;
            }
            self.list.push(Finding::file(
                rule,
                format!(
                    "{n} more findings of this kind in this file are not listed (only the first {MAX_PER_RULE} are); \
                     fix those listed, then check the rest of the file the same way"
                ),
            ));
        }
    }
}

/// Read like a slice.
impl std::ops::Deref for Findings {
    type Target = [Finding];
    fn deref(&self) -> &[Finding] {
        &self.list
    }
}

impl Extend<Finding> for Findings {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, items: I) {
        items.into_iter().for_each(|f| self.push(f));
        self.finish();
    }
}

impl From<Vec<Finding>> for Findings {
    fn from(list: Vec<Finding>) -> Findings {
        let mut counts: BTreeMap<Rule, (usize, usize)> = BTreeMap::new();
        for f in &list {
            counts.entry(f.rule).or_default().0 += 1;
        }
        Findings { list, counts }
    }
}

impl From<Findings> for Vec<Finding> {
    fn from(f: Findings) -> Vec<Finding> {
        f.list
    }
}

impl IntoIterator for Findings {
    type Item = Finding;
    type IntoIter = std::vec::IntoIter<Finding>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl<'a> IntoIterator for &'a Findings {
    type Item = &'a Finding;
    type IntoIter = std::slice::Iter<'a, Finding>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// `s` cut to at most `max` characters, with `…` where it was cut.
fn cut(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_keeps_the_first_of_each_rule_and_counts_the_rest() {
        let mut f = Findings::new();
        for i in 0..10_000 {
            f.push(Finding::file(Rule::AmountOutOfRange, format!("cell {i}")));
        }
        f.push(Finding::file(Rule::AmountNegative, "one"));
        f.finish();
        let out_of_range: Vec<&Finding> = f.iter().filter(|x| x.rule == Rule::AmountOutOfRange).collect();
        assert_eq!(out_of_range.len(), MAX_PER_RULE + 1);
        assert_eq!(out_of_range[0].message, "cell 0");
        assert!(
            out_of_range[MAX_PER_RULE].message.starts_with("9950 more findings"),
            "{}",
            out_of_range[MAX_PER_RULE].message
        );
        assert_eq!(f.iter().filter(|x| x.rule == Rule::AmountNegative).count(), 1);
    }

    #[test]
    fn echoed_text_is_cut() {
        let mut f = Findings::new();
        let long = "é".repeat(1_000_000);
        f.push(Finding::sheet(Rule::FieldMissing, &long, format!("the sheet '{long}' is missing")));
        assert_eq!(f[0].sheet.as_ref().unwrap().chars().count(), MAX_TEXT_CHARS + 1);
        assert!(f[0].message.chars().count() <= MAX_TEXT_CHARS * 2 + 1);
        assert!(f[0].message.ends_with('…'));
    }
}
