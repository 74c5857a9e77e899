//! The HTML page: one file with its styles and script inline (it is opened from disk, mailed,
//! attached to CI runs: nothing may be fetched), sections added in order, and text escaping.

use std::fmt::Write as _;

/// The page's style sheet.
const CSS: &str = include_str!("report.css");
/// The page's script: flame graph frames and search, view switches, sortable tables.
const JS: &str = include_str!("report.js");

/// Text made safe for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A report page being assembled: a title and its sections, each with an id the header links to.
#[derive(Default)]
pub struct Page {
    title: String,
    sections: Vec<(String, String, String)>,
    ids: usize,
}

impl Page {
    /// An empty page with this title.
    pub fn new(title: &str) -> Page {
        Page { title: title.to_string(), ..Page::default() }
    }

    /// Adds a section: `kind` is its CSS class and id prefix (`profile`, `check`, `bench`),
    /// `heading` what the header's table of contents calls it, `body` its HTML.
    pub fn add(&mut self, kind: &str, heading: &str, body: String) {
        let id = format!("{kind}-{}", self.sections.len() + 1);
        self.sections.push((
            id,
            heading.to_string(),
            format!("<section class=\"kind {kind}\" data-kind=\"{kind}\">{body}</section>"),
        ));
    }

    /// An element id no other part of the page has: `prefix-N`.
    pub fn next_id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}-{}", self.ids)
    }

    /// Number of sections so far.
    pub fn len(&self) -> usize {
        self.sections.len()
    }

    /// The page has no section.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The whole document.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"generator\" content=\"armtune {}\"><title>{}</title><style>{CSS}</style></head>\n<body>\
             <header><h1>{}</h1><nav>",
            env!("CARGO_PKG_VERSION"),
            esc(&self.title),
            esc(&self.title)
        );
        for (id, heading, _) in &self.sections {
            let _ = write!(out, "<a href=\"#{id}\">{}</a>", esc(heading));
        }
        out.push_str("</nav></header>\n<main>");
        for (id, _, body) in &self.sections {
            let _ = writeln!(out, "<div id=\"{id}\">{body}</div>");
        }
        // The script goes last, so the elements it sets up exist when it runs.
        let _ = write!(out, "</main>\n<script>{}</script>\n</body></html>\n", JS.replace("</script", "<\\/script"));
        out
    }
}

/// A table whose columns sort on a click: `head` names the columns (a leading `#` marks a
/// numeric one, right-aligned), `rows` are rows of cells made with [`cell`] and [`num`].
pub fn sortable_table(class: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table class=\"sortable {class}\"><thead><tr>");
    for h in head {
        match h.strip_prefix('#') {
            Some(name) => {
                let _ = write!(out, "<th class=\"n\">{}</th>", esc(name));
            }
            None => {
                let _ = write!(out, "<th>{}</th>", esc(h));
            }
        }
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            out.push_str(c);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// Facts about a report in one line: `name: value` pairs.
pub fn facts(list: &[(&str, String)]) -> String {
    let mut out = String::from("<div class=\"facts\">");
    for (name, value) in list {
        let _ = write!(out, "<span>{}: <b>{}</b></span>", esc(name), esc(value));
    }
    out.push_str("</div>");
    out
}

/// What makes a report's numbers doubtful, as a list; nothing when there is nothing to say.
pub fn warning_list(warnings: &[String]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"warnings\">");
    for w in warnings {
        let _ = write!(out, "<li>{}</li>", esc(w));
    }
    out.push_str("</ul>");
    out
}

/// A text cell.
pub fn cell(text: &str) -> String {
    format!("<td>{}</td>", esc(text))
}

/// A numeric cell: `shown` is what people read, `value` what the column sorts by.
pub fn num(value: f64, shown: &str) -> String {
    format!("<td class=\"n\" data-v=\"{value}\">{}</td>", esc(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_become_markup() {
        assert_eq!(esc("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn a_page_links_its_sections_and_keeps_its_script_inside_its_script_element() {
        let mut page = Page::new("run <1>");
        page.add("profile", "Profile: ./demo", "<p>x</p>".into());
        page.add("check", "Check", "<p>y</p>".into());
        let html = page.render();
        assert!(html.contains("<title>run &lt;1&gt;</title>"));
        assert!(html.contains("<a href=\"#profile-1\">Profile: ./demo</a><a href=\"#check-2\">Check</a>"));
        assert!(html.contains("<div id=\"check-2\"><section class=\"kind check\""));
        assert_eq!(html.matches("</script>").count(), 1, "nothing in the script ends its element early");
        assert!(!html.contains("http://") && !html.contains("https://"), "nothing is fetched");
    }

    #[test]
    fn numeric_columns_sort_by_their_values() {
        let t = sortable_table("t", &["name", "#count"], &[vec![cell("a<b"), num(1500.0, "1.5 k")]]);
        assert!(t.contains("<th class=\"n\">count</th>"));
        assert!(t.contains("<td>a&lt;b</td><td class=\"n\" data-v=\"1500\">1.5 k</td>"));
    }
}
