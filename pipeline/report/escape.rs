//! Escaping text as it is written, for each kind of output: text typed by areas (file, sheet
//! and area names, cell values) must not become markup, a formula or a terminal command.

use std::fmt;

/// Writes `text` with each character that `replacement` names written as its replacement, and
/// every other control character (but line break and tab) as a visible `\u{1b}`: what areas
/// typed can hold an escape sequence, which must not act in a terminal that shows the file.
/// Nothing is built for text that needs no replacing.
pub fn write_replacing(
    f: &mut fmt::Formatter<'_>,
    text: &str,
    replacement: fn(char) -> Option<&'static str>,
) -> fmt::Result {
    let special = |c: char| replacement(c).is_some() || (c.is_control() && !matches!(c, '\n' | '\t'));
    let mut rest = text;
    while let Some((i, c)) = rest.char_indices().find(|&(_, c)| special(c)) {
        f.write_str(&rest[..i])?;
        match replacement(c) {
            Some(with) => f.write_str(with)?,
            None => write!(f, "\\u{{{:x}}}", c as u32)?,
        }
        rest = &rest[i + c.len_utf8()..];
    }
    f.write_str(rest)
}

/// Text made safe for HTML.
pub struct Html<'a>(pub &'a str);

impl fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_replacing(f, self.0, |c| match c {
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' => Some("&quot;"),
            '\'' => Some("&#39;"),
            _ => None,
        })
    }
}

/// Text for a Markdown table cell or list item: pipes escaped, line breaks (which could start
/// a heading) as spaces, and `<`, `>`, `&` as entities, so a renderer that passes HTML through
/// (CommonMark with HTML on) shows the text instead of running it.
pub struct Markdown<'a>(pub &'a str);

impl fmt::Display for Markdown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_replacing(f, self.0, |c| match c {
            '|' => Some("\\|"),
            '\n' | '\r' => Some(" "),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '&' => Some("&amp;"),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes() {
        let cases = [
            ("", ""),
            ("Kent", "Kent"),
            ("<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            ("A & B \"C\"", "A &amp; B &quot;C&quot;"),
            ("&&", "&amp;&amp;"),
            ("£1,000 – Ynys Môn <", "£1,000 – Ynys Môn &lt;"),
            ("Kent\x1b[2J\u{9b}31m", "Kent\\u{1b}[2J\\u{9b}31m"),
            ("two\nlines\tand a tab", "two\nlines\tand a tab"),
        ];
        for (raw, want) in cases {
            assert_eq!(Html(raw).to_string(), want, "{raw}");
        }
    }

    #[test]
    fn markdown_escapes() {
        let cases = [
            ("", ""),
            ("a|b", "a\\|b"),
            ("|\n|", "\\| \\|"),
            ("line one\nline two", "line one line two"),
            ("Kent\r# Heading", "Kent # Heading"),
            ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
            ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
            ("A & B", "A &amp; B"),
            ("Kent\x1b]0;pwned\x07", "Kent\\u{1b}]0;pwned\\u{7}"),
        ];
        for (raw, want) in cases {
            assert_eq!(Markdown(raw).to_string(), want, "{raw:?}");
        }
    }
}

/// Text for a terminal: control characters (which could move the cursor, retitle or clear the
/// window) are shown as `\u{…}` escapes instead of being sent.
pub struct Terminal<'a>(pub &'a str);

impl fmt::Display for Terminal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() && c != '\n' {
                write!(f, "\\u{{{:x}}}", c as u32)?;
            } else {
                f.write_fmt(format_args!("{c}"))?;
            }
        }
        Ok(())
    }
}

/// [`Terminal`] for whole output: every line break kept, every other control escaped.
pub fn for_terminal(s: &str) -> String {
    Terminal(s).to_string()
}

#[cfg(test)]
mod terminal_tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_a_terminal() {
        assert_eq!(Terminal("Kent\x1b]0;pwned\x07.xlsx").to_string(), "Kent\\u{1b}]0;pwned\\u{7}.xlsx");
        assert_eq!(Terminal("a\r\nb\u{9b}c").to_string(), "a\\u{d}\nb\\u{9b}c");
        assert_eq!(Terminal("£1,000 Môn").to_string(), "£1,000 Môn");
    }
}
