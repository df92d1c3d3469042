//! Escaping text as it is written, for each kind of output: text typed by areas (file, sheet
//! and area names, cell values) must not become markup, a formula or a terminal command.

use std::fmt;

/// Writes `text` with each byte that `replacement` names written as its replacement, with no
/// string built for it. Only ASCII bytes may be named, so each byte found is a whole character.
pub fn write_replacing(
    f: &mut fmt::Formatter<'_>,
    text: &str,
    replacement: fn(u8) -> Option<&'static str>,
) -> fmt::Result {
    let mut rest = text;
    while let Some((i, with)) = rest.bytes().enumerate().find_map(|(i, b)| Some((i, replacement(b)?))) {
        f.write_str(&rest[..i])?;
        f.write_str(with)?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)
}

/// Text made safe for HTML.
pub struct Html<'a>(pub &'a str);

impl fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_replacing(f, self.0, |b| match b {
            b'&' => Some("&amp;"),
            b'<' => Some("&lt;"),
            b'>' => Some("&gt;"),
            b'"' => Some("&quot;"),
            b'\'' => Some("&#39;"),
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
        write_replacing(f, self.0, |b| match b {
            b'|' => Some("\\|"),
            b'\n' | b'\r' => Some(" "),
            b'<' => Some("&lt;"),
            b'>' => Some("&gt;"),
            b'&' => Some("&amp;"),
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
