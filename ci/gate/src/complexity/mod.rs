//! Per-function complexity from tree-sitter syntax trees: cyclomatic (gocyclo's rules for Go) and
//! cognitive (SonarSource's, as gocognit applies them to Go). See [`grammar`] for what each
//! language's constructs count.

pub mod grammar;
mod names;
mod suppress;

use std::collections::HashSet;

use tree_sitter::{Node, Parser};

use crate::lang::Language;
use grammar::Role;
pub use suppress::Suppression;

/// One function's complexity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionComplexity {
    /// Name as the language's tools print it: `(*T).M` for a Go method, `Type::f`, `Class.m`.
    pub name: String,
    /// First line (1-based).
    pub line: u32,
    /// Column of the first byte (1-based, in bytes as gocyclo counts).
    pub column: u32,
    /// Last line.
    pub end_line: u32,
    /// Cyclomatic complexity.
    pub cyclomatic: u32,
    /// Cognitive complexity.
    pub cognitive: u32,
    /// Suppression comments attached to the function.
    pub suppression: Suppression,
}

/// The functions of one file, and where it failed to parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileComplexity {
    /// Functions in source order.
    pub functions: Vec<FunctionComplexity>,
    /// (line, column) of the first syntax errors, if any: the functions that parse are still
    /// reported.
    pub syntax_errors: Vec<(u32, u32)>,
}

/// Measures every function of `src` (a whole file in `lang`).
pub fn analyze(lang: Language, src: &[u8]) -> FileComplexity {
    let mut parser = Parser::new();
    if parser.set_language(&lang.grammar()).is_err() {
        return FileComplexity::default();
    }
    let Some(tree) = parser.parse(src, None) else {
        return FileComplexity::default();
    };
    let root = tree.root_node();
    let file_scope = if lang == Language::Go { go_file_scope(root, src) } else { HashSet::new() };
    let mut walker = Walker { lang, src, units: Vec::new(), open: Vec::new(), file_scope };
    walker.walk(root, 0);
    let mut syntax_errors = Vec::new();
    if root.has_error() {
        collect_errors(root, &mut syntax_errors);
    }
    let mut functions = walker.units;
    functions.sort_by_key(|f| (f.line, f.column));
    FileComplexity { functions, syntax_errors }
}

/// Names a Go file declares at its top level, as go/parser's resolver sees them.
fn go_file_scope(root: Node, src: &[u8]) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut add = |n: Option<Node>| {
        if let Some(text) = n.and_then(|n| n.utf8_text(src).ok()) {
            names.insert(text.to_string());
        }
    };
    let mut cursor = root.walk();
    for decl in root.named_children(&mut cursor) {
        match decl.kind() {
            "function_declaration" => add(decl.child_by_field_name("name")),
            "type_declaration" | "var_declaration" | "const_declaration" => {
                let mut stack = vec![decl];
                while let Some(n) = stack.pop() {
                    let mut c = n.walk();
                    for child in n.named_children(&mut c) {
                        match child.kind() {
                            "type_spec" | "type_alias" => add(child.child_by_field_name("name")),
                            "var_spec" | "const_spec" => {
                                let mut cc = child.walk();
                                for name in child.children_by_field_name("name", &mut cc) {
                                    add(Some(name));
                                }
                            }
                            "var_spec_list" | "const_spec_list" => stack.push(child),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    names
}

fn collect_errors(node: Node, out: &mut Vec<(u32, u32)>) {
    if out.len() >= 5 {
        return;
    }
    if node.is_error() || node.is_missing() {
        let p = node.start_position();
        out.push((p.row as u32 + 1, p.column as u32 + 1));
        return;
    }
    if !node.has_error() {
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_errors(child, out);
    }
}

struct Walker<'a, 't> {
    lang: Language,
    src: &'a [u8],
    units: Vec<FunctionComplexity>,
    /// Indices into `units` of the functions being walked, innermost last, with their base names
    /// (for recursion).
    open: Vec<(usize, String, Node<'t>)>,
    /// Go: names declared at the top level of the file (functions, types, variables, constants).
    file_scope: HashSet<String>,
}

impl<'t> Walker<'_, 't> {
    fn role(&self, node: Node) -> Role {
        grammar::role(self.lang, node, self.src)
    }

    fn add(&mut self, cyclomatic: u32, cognitive: u32) {
        if let Some(&(i, _, _)) = self.open.last() {
            self.units[i].cyclomatic += cyclomatic;
            self.units[i].cognitive += cognitive;
        }
    }

    fn walk(&mut self, node: Node<'t>, nesting: u32) {
        match self.role(node) {
            Role::Function => {
                let name = names::function_name(self.lang, node, self.src);
                self.unit(node, node, name, |w| w.walk_children(node, 0));
            }
            Role::Closure => {
                if !self.open.is_empty() {
                    self.walk_children(node, nesting + 1);
                } else if let Some(name) = names::closure_name(self.lang, node, self.src) {
                    let anchor = names::declaration_of(node);
                    self.unit(node, anchor, name, |w| w.walk_children(node, 0));
                } else if self.lang == Language::Go {
                    // gocyclo reports only functions and function literals assigned to variables.
                    self.walk_children(node, 0);
                } else {
                    self.unit(node, node, "<anonymous>".into(), |w| w.walk_children(node, 0));
                }
            }
            Role::If => {
                let cognitive = if self.is_else_if(node) { 1 } else { 1 + nesting };
                self.add(1, cognitive);
                self.walk_if(node, nesting);
            }
            Role::Elif => {
                self.add(1, 1);
                self.walk_if(node, nesting);
            }
            Role::Loop | Role::Catch => {
                self.add(1, 1 + nesting);
                self.walk_structure(node, nesting);
            }
            Role::BareLoop | Role::Switch => {
                self.add(0, 1 + nesting);
                self.walk_structure(node, nesting);
            }
            Role::Ternary => {
                self.add(1, 1 + nesting);
                let mut cursor = node.walk();
                let children: Vec<(Option<&str>, Node)> =
                    node.children(&mut cursor).map(|c| (cursor_field(node, c), c)).collect();
                for (field, child) in children {
                    let deeper = field != Some("condition");
                    self.walk(child, if deeper { nesting + 1 } else { nesting });
                }
            }
            Role::Case | Role::Decision => {
                self.add(1, 0);
                self.walk_children(node, nesting);
            }
            Role::Logical => {
                let cognitive = if self.inside_logical_sequence(node) { 0 } else { self.operator_changes(node) };
                self.add(1, cognitive);
                self.walk_children(node, nesting);
            }
            Role::Jump => {
                self.add(0, 1);
                self.walk_children(node, nesting);
            }
            Role::Call => {
                if self.is_recursive_call(node) {
                    self.add(0, 1);
                }
                self.walk_children(node, nesting);
            }
            Role::Paren | Role::Other => self.walk_children(node, nesting),
        }
    }

    fn walk_children(&mut self, node: Node<'t>, nesting: u32) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for child in children {
            self.walk(child, nesting);
        }
    }

    /// A unit for `node` named `name`, reported at `anchor` (the declaration, for a function
    /// literal assigned to a variable).
    fn unit(&mut self, node: Node<'t>, anchor: Node<'t>, name: String, body: impl FnOnce(&mut Self)) {
        let start = anchor.start_position();
        let at = if self.lang == Language::Go { node.start_position() } else { start };
        let base = names::base_name(&name).to_string();
        self.units.push(FunctionComplexity {
            name,
            line: at.row as u32 + 1,
            column: at.column as u32 + 1,
            end_line: node.end_position().row as u32 + 1,
            cyclomatic: 1,
            cognitive: 0,
            suppression: suppress::attached(self.lang, anchor, self.src),
        });
        self.open.push((self.units.len() - 1, base, node));
        body(self);
        self.open.pop();
    }

    /// An `if` in the else branch of another `if`: `else if` counts without nesting.
    fn is_else_if(&self, node: Node) -> bool {
        let Some(parent) = node.parent() else { return false };
        match parent.kind() {
            "else_clause" => {
                let mut cursor = parent.walk();
                let statements: Vec<Node> =
                    parent.named_children(&mut cursor).filter(|c| !c.kind().contains("comment")).collect();
                statements.len() == 1
            }
            // Go: the nested if is the `alternative` field itself.
            "if_statement" => parent.child_by_field_name("alternative").is_some_and(|a| a.id() == node.id()),
            _ => false,
        }
    }

    fn walk_if(&mut self, node: Node<'t>, nesting: u32) {
        // gocognit walks a Go `else` block at the `if`'s own level; SonarSource nests it.
        let else_nesting = if self.lang == Language::Go { nesting } else { nesting + 1 };
        let mut cursor = node.walk();
        let children: Vec<(Option<&str>, Node)> =
            node.children(&mut cursor).map(|c| (cursor_field(node, c), c)).collect();
        for (field, child) in children {
            match field {
                Some("consequence") | Some("body") => self.walk(child, nesting + 1),
                Some("alternative") => match self.role(child) {
                    Role::If | Role::Elif => self.walk(child, nesting),
                    _ if child.kind() == "else_clause" => {
                        let mut c = child.walk();
                        let inner: Vec<Node> = child.named_children(&mut c).collect();
                        let else_if = inner.iter().filter(|n| !n.kind().contains("comment")).count() == 1
                            && inner.iter().any(|n| self.role(*n) == Role::If);
                        if !else_if {
                            self.add(0, 1);
                        }
                        for n in inner {
                            self.walk(n, if else_if { nesting } else { else_nesting });
                        }
                    }
                    _ => {
                        self.add(0, 1);
                        self.walk(child, else_nesting);
                    }
                },
                _ if grammar::is_body(child.kind()) && self.lang == Language::Python => self.walk(child, nesting + 1),
                _ => self.walk(child, nesting),
            }
        }
    }

    /// Loops, switches, catch clauses: the body one level deeper, the header at this level.
    fn walk_structure(&mut self, node: Node<'t>, nesting: u32) {
        let mut cursor = node.walk();
        let children: Vec<(Option<&str>, Node)> =
            node.children(&mut cursor).map(|c| (cursor_field(node, c), c)).collect();
        for (field, child) in children {
            let deeper = field == Some("body") || grammar::is_body(child.kind());
            self.walk(child, if deeper { nesting + 1 } else { nesting });
        }
    }

    /// True when `node` is an operand of a larger logical expression (no parentheses between):
    /// the whole sequence was counted at its top.
    fn inside_logical_sequence(&self, node: Node) -> bool {
        let mut current = node;
        while let Some(parent) = current.parent() {
            if !is_binary(parent.kind()) {
                return false;
            }
            if self.role(parent) == Role::Logical {
                return true;
            }
            current = parent;
        }
        false
    }

    /// One per run of the same operator, left to right, through the whole unparenthesized
    /// expression (`a && b && c || d` is 2).
    fn operator_changes(&self, node: Node) -> u32 {
        let mut ops = Vec::new();
        self.collect_ops(node, &mut ops);
        let mut changes = 0;
        let mut last = "";
        for op in ops {
            if op != last {
                changes += 1;
                last = op;
            }
        }
        changes
    }

    fn collect_ops<'s>(&'s self, node: Node, ops: &mut Vec<&'s str>) {
        if !is_binary(node.kind()) {
            return;
        }
        if let Some(left) = node.child_by_field_name("left") {
            self.collect_ops(left, ops);
        }
        if let Some(op) = grammar::logical_operator(node, self.src, grammar::logical_ops(self.lang)) {
            ops.push(op);
        }
        if let Some(right) = node.child_by_field_name("right") {
            self.collect_ops(right, ops);
        }
    }

    fn is_recursive_call(&self, node: Node) -> bool {
        let Some((unit, base, node_of_unit)) = self.open.last() else { return false };
        let is_go_method = self.lang == Language::Go && self.units[*unit].name.starts_with('(');
        node.child_by_field_name("function")
            .filter(|f| f.kind() == "identifier")
            .and_then(|f| f.utf8_text(self.src).ok())
            .is_some_and(|callee| {
                // A bare call in a Go method never reaches the method itself; gocognit still counts
                // one whose name go/parser leaves unresolved (a builtin, or a name from another
                // file), and so does this, to give gocognit's numbers.
                callee == base
                    && !(is_go_method
                        && (self.file_scope.contains(callee) || declares_locally(*node_of_unit, callee, self.src)))
            })
    }
}

/// Whether a Go function declares `name` itself (a parameter, `:=`, `var`): go/parser resolves
/// calls of such names to the local, so gocognit does not count them as recursion.
fn declares_locally(function: Node, name: &str, src: &[u8]) -> bool {
    let mut stack = vec![function];
    while let Some(n) = stack.pop() {
        let declared: Option<Node> = match n.kind() {
            "short_var_declaration" | "range_clause" => n.child_by_field_name("left"),
            "var_spec" | "const_spec" | "parameter_declaration" | "variadic_parameter_declaration" => Some(n),
            _ => None,
        };
        if let Some(d) = declared {
            let mut c = d.walk();
            let hit = if d.kind() == "expression_list" {
                d.named_children(&mut c).any(|i| i.kind() == "identifier" && i.utf8_text(src) == Ok(name))
            } else {
                d.children_by_field_name("name", &mut c).any(|i| i.utf8_text(src) == Ok(name))
            };
            if hit {
                return true;
            }
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    false
}

fn is_binary(kind: &str) -> bool {
    kind == "binary_expression" || kind == "boolean_operator"
}

/// The field name under which `child` hangs from `parent`.
fn cursor_field<'t>(parent: Node<'t>, child: Node<'t>) -> Option<&'static str> {
    let mut cursor = parent.walk();
    if !cursor.goto_first_child() {
        return None;
    }
    loop {
        if cursor.node().id() == child.id() {
            return cursor.field_name();
        }
        if !cursor.goto_next_sibling() {
            return None;
        }
    }
}
