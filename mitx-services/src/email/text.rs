//! The text part of an email, derived from its HTML (integrations spec 5: "HTML plus
//! derived text, links as `text (url)`").

/// Plain text of an HTML document: tags removed, links as `text (url)`, block elements and
/// `<br>` as line breaks, entities decoded, runs of blank space collapsed.
pub fn html_to_text(html: &str) -> String {
    let body = match (html.find("<body"), html.rfind("</body>")) {
        (Some(start), Some(end)) if start < end => {
            let open_end = html[start..].find('>').map_or(start, |i| start + i + 1);
            &html[open_end..end]
        }
        _ => html,
    };
    let mut out = String::with_capacity(body.len());
    let mut link: Option<String> = None;
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode(&rest[..lt]));
        let Some(gt) = rest[lt..].find('>') else {
            rest = &rest[lt..];
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        match name.as_str() {
            "a" if !closing => link = attribute(tag, "href"),
            "a" => {
                if let Some(url) = link.take() {
                    out.push_str(&format!(" ({url})"));
                }
            }
            "br" => out.push('\n'),
            "p" | "div" | "h1" | "h2" | "h3" | "ul" | "ol" | "pre" | "table" | "tr" if closing => {
                out.push_str("\n\n")
            }
            "li" if !closing => out.push_str("\n- "),
            "title" | "style" | "head" if !closing => {
                if let Some(end) = rest.to_ascii_lowercase().find(&format!("</{name}>")) {
                    rest = &rest[end..];
                }
            }
            _ => {}
        }
    }
    out.push_str(&decode(rest));
    tidy(&out)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let quote = value.chars().next()?;
    let value = if quote == '"' || quote == '\'' {
        value[1..].split(quote).next()?
    } else {
        value.split(char::is_whitespace).next()?
    };
    Some(decode(value))
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Collapses spaces within lines and keeps at most one blank line between paragraphs.
fn tidy(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() && lines.last().is_none_or(String::is_empty) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_text_with_url() {
        let cases = [
            (
                r#"<p>See your <a href="https://x.example/dashboard/">dashboard</a>.</p>"#,
                "See your dashboard (https://x.example/dashboard/).\n",
            ),
            ("<p>A &amp; B &lt;3</p><p>Next</p>", "A & B <3\n\nNext\n"),
            ("Line<br>Break", "Line\nBreak\n"),
            ("<ul><li>One</li><li>Two</li></ul>", "- One\n- Two\n"),
            (
                "<html><head><title>T</title></head><body><p>  Hi   there </p></body></html>",
                "Hi there\n",
            ),
            (
                "<a href='https://a.example/?q=1&amp;r=2'>it</a>",
                "it (https://a.example/?q=1&r=2)\n",
            ),
        ];
        for (html, text) in cases {
            assert_eq!(html_to_text(html), text, "{html}");
        }
    }
}
