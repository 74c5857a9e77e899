//! Suppression comments attached to a function: `//gocyclo:ignore`, `//gocognit:ignore`, and
//! `// armtune:allow complexity -- reason` in the comments right above it (a Go doc comment, say)
//! or on its first line.

use tree_sitter::Node;

use crate::allow;

/// What the comments attached to a function suppress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppression {
    /// The cyclomatic check is off for this function.
    pub cyclomatic: bool,
    /// The cognitive check is off for this function.
    pub cognitive: bool,
    /// The reason after ` -- ` in an `armtune:allow` comment, when given.
    pub reason: Option<String>,
    /// Line of the suppressing comment.
    pub line: u32,
}

impl Suppression {
    /// Reads suppression directives out of comment texts.
    pub fn from_comments<'a>(comments: impl IntoIterator<Item = (&'a str, u32)>) -> Suppression {
        let mut s = Suppression::default();
        for (comment, line) in comments {
            let body = comment.trim_start_matches(['/', '*', '#', ' ', '\t', '!']);
            if body.starts_with("gocyclo:ignore") {
                s.cyclomatic = true;
                s.line = line;
            } else if body.starts_with("gocognit:ignore") {
                s.cognitive = true;
                s.line = line;
            } else if let Some(reason) =
                body.strip_prefix(allow::MARKER).and_then(|rest| allow::parse(rest, &["complexity"]))
            {
                s.cyclomatic = true;
                s.cognitive = true;
                s.reason = reason;
                s.line = line;
            }
        }
        s
    }

    /// True when anything is suppressed.
    pub fn any(&self) -> bool {
        self.cyclomatic || self.cognitive
    }
}

/// Whether a node of this kind wraps a function its comments sit above (`export`, decorators,
/// templates).
pub fn is_wrapper(kind: &str) -> bool {
    matches!(kind, "export_statement" | "decorated_definition" | "template_declaration")
}

/// The suppression of the function declared by `node`. `start` is `node` or the outermost
/// wrapper around it; `leading` are the comments and attributes right before `start` among its
/// siblings, in source order (the walk collects them as it goes: tree-sitter's `prev_sibling`
/// searches down from the root at each call).
pub fn attached(node: Node, start: Node, leading: &[Node], src: &[u8]) -> Suppression {
    let mut comments = Vec::new();
    let mut expected_row = start.start_position().row;
    for s in leading.iter().rev() {
        if s.end_position().row + 1 < expected_row {
            break;
        }
        if s.kind().contains("comment") {
            comments.push((s.utf8_text(src).unwrap_or(""), s.start_position().row as u32 + 1));
        }
        expected_row = s.start_position().row;
    }
    // A trailing comment on the first line (`func f() { // armtune:allow ...`).
    let first_row = node.start_position().row;
    let mut cursor = node.walk();
    let mut stack = vec![node];
    'find: while let Some(n) = stack.pop() {
        if n.start_position().row > first_row {
            continue;
        }
        if n.kind().contains("comment") {
            comments.push((n.utf8_text(src).unwrap_or(""), first_row as u32 + 1));
            break 'find;
        }
        for child in n.children(&mut cursor) {
            if child.start_position().row == first_row {
                stack.push(child);
            }
        }
    }
    Suppression::from_comments(comments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        let s = Suppression::from_comments([("//gocyclo:ignore", 3)]);
        assert!(s.cyclomatic && !s.cognitive);
        let s = Suppression::from_comments([("// armtune:allow complexity -- generated parser table", 7)]);
        assert!(s.cyclomatic && s.cognitive);
        assert_eq!(s.reason.as_deref(), Some("generated parser table"));
        assert_eq!(s.line, 7);
        let s = Suppression::from_comments([("# armtune:allow complexity", 1)]);
        assert!(s.any() && s.reason.is_none());
        let s = Suppression::from_comments([("/* armtune:allow secrets -- test key */", 1)]);
        assert!(!s.any(), "allowing secrets does not allow complexity");
        assert!(!Suppression::from_comments([("// an ordinary comment", 1)]).any());
    }
}
