//! Per-function complexity from tree-sitter syntax trees: cyclomatic (gocyclo's rules for Go) and
//! cognitive (SonarSource's, as gocognit applies them to Go). See [`grammar`] for what each
//! language's constructs count.

pub mod grammar;
mod names;
mod suppress;

use std::collections::HashSet;

use tree_sitter::{Node, Parser, TreeCursor};

use crate::lang::Language;
use grammar::{Grammar, Role};
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
    /// Parsing was given up: the file has syntax errors and recovering from them took longer
    /// than [`PARSE_BUDGET_BASE`] plus [`PARSE_BUDGET_PER_KIB`] per KiB (what a file that is not
    /// in the language its name says does, such as capstone's `.s.cs` test vectors). Nothing of
    /// it is measured.
    pub abandoned: bool,
}

/// The time a file with syntax errors may take to parse, before its size is counted. Clean files
/// are never cut short; files with errors parse at 0.1–0.3 ms a KiB in every grammar here, text in
/// another language at about 10 ms a KiB.
pub const PARSE_BUDGET_BASE: std::time::Duration = std::time::Duration::from_millis(50);

/// The time a file with syntax errors may take per KiB of its size.
pub const PARSE_BUDGET_PER_KIB: std::time::Duration = std::time::Duration::from_millis(1);

/// Measures every function of `src` (a whole file in `lang`).
pub fn analyze(lang: Language, src: &[u8]) -> FileComplexity {
    let Some(tree) = parse(lang, src) else {
        return FileComplexity { abandoned: true, ..FileComplexity::default() };
    };
    let root = tree.root_node();
    let file_scope = if lang == Language::Go { go_file_scope(root, src) } else { HashSet::new() };
    let mut walker = Walker {
        lang,
        g: Grammar::of(lang),
        src,
        units: Vec::new(),
        open: Vec::new(),
        file_scope,
        path: Vec::new(),
        trail_starts: Vec::new(),
        trail: Vec::new(),
    };
    walker.walk(&mut root.walk(), 0, Ctx::default());
    let mut syntax_errors = Vec::new();
    if root.has_error() {
        collect_errors(root, &mut syntax_errors);
    }
    let mut functions = walker.units;
    functions.sort_by_key(|f| (f.line, f.column));
    FileComplexity { functions, syntax_errors, abandoned: false }
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

/// A parser for `lang`. Every tree-sitter parser of this crate is made here: tree-sitter's
/// allocations go to mimalloc (7 % less CPU on the gate-speed corpus than the system allocator), and
/// that is set once, before the first parser allocates anything, so nothing allocated by one
/// allocator is freed by the other.
pub fn new_parser(lang: Language) -> Result<Parser, tree_sitter::LanguageError> {
    static ALLOCATOR: std::sync::Once = std::sync::Once::new();
    // SAFETY: runs once, before any tree-sitter object of this process exists (parsers are made
    // only here; trees and cursors only come from parsers).
    ALLOCATOR.call_once(|| unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }))
    });
    let mut parser = Parser::new();
    parser.set_language(&lang.grammar())?;
    Ok(parser)
}

/// Parses with this thread's parser for `lang` (a parser keeps its allocations between files);
/// `None` when the file has syntax errors and its parse went over the budget.
fn parse(lang: Language, src: &[u8]) -> Option<tree_sitter::Tree> {
    thread_local! {
        static PARSERS: std::cell::RefCell<Vec<(Language, Parser)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let i = match parsers.iter().position(|(l, _)| *l == lang) {
            Some(i) => i,
            None => {
                let parser = new_parser(lang).ok()?;
                parsers.push((lang, parser));
                parsers.len() - 1
            }
        };
        let parser = &mut parsers[i].1;
        let budget = PARSE_BUDGET_BASE + PARSE_BUDGET_PER_KIB * (src.len() / 1024) as u32;
        let start = std::time::Instant::now();
        // tree-sitter calls this every hundred parse operations; a clean parse is never stopped.
        let mut over_budget = |state: &tree_sitter::ParseState| {
            if state.has_error() && start.elapsed() > budget {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        };
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut over_budget);
        let mut read = |at: usize, _: tree_sitter::Point| src.get(at..).unwrap_or_default();
        let tree = parser.parse_with_options(&mut read, None, Some(options));
        if tree.is_none() {
            // A stopped parser resumes where it stopped on its next call: start the next file afresh.
            parser.reset();
        }
        tree
    })
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
    g: &'static Grammar,
    src: &'a [u8],
    units: Vec<FunctionComplexity>,
    /// Indices into `units` of the functions being walked, innermost last, with their base names
    /// (for recursion) and nodes.
    open: Vec<(usize, String, Node<'t>)>,
    /// Go: names declared at the top level of the file (functions, types, variables, constants).
    file_scope: HashSet<String>,
    /// The nodes the walk is inside, the root first: the ancestors of the node being walked.
    path: Vec<Node<'t>>,
    /// For each node of `path`, the length `trail` had when its children began.
    trail_starts: Vec<usize>,
    /// At each level of `path`, the comments and attributes met since the last other sibling,
    /// in order: what sits right before the child being walked.
    trail: Vec<Node<'t>>,
}

/// What a node's parent tells about it.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    /// The `if` in an `else` branch: `else if` counts without nesting.
    else_if: bool,
    /// An operand of a larger logical expression (through binary expressions, not parentheses):
    /// its operators were counted with the whole sequence.
    in_logical: bool,
}

impl<'t> Walker<'_, 't> {
    fn add(&mut self, cyclomatic: u32, cognitive: u32) {
        if let Some(&(i, _, _)) = self.open.last() {
            self.units[i].cyclomatic += cyclomatic;
            self.units[i].cognitive += cognitive;
        }
    }

    /// Walks the children of the cursor's node; `place` gives each child's nesting and context
    /// from its field id and node.
    fn children(
        &mut self,
        c: &mut TreeCursor<'t>,
        mut place: impl FnMut(&Grammar, Option<u16>, Node<'t>) -> (u32, Ctx),
    ) {
        if !self.enter(c) {
            return;
        }
        loop {
            let field = c.field_id().map(|f| f.get());
            let child = c.node();
            let (nesting, ctx) = place(self.g, field, child);
            self.walk(c, nesting, ctx);
            if !self.next(c, child) {
                break;
            }
        }
        self.leave(c);
    }

    /// Moves to the first child of the cursor's node, if it has one, and records the node in
    /// `path`.
    fn enter(&mut self, c: &mut TreeCursor<'t>) -> bool {
        let node = c.node();
        if !c.goto_first_child() {
            return false;
        }
        self.path.push(node);
        self.trail_starts.push(self.trail.len());
        true
    }

    /// Moves past `child`, just walked, to its next sibling if there is one.
    fn next(&mut self, c: &mut TreeCursor<'t>, child: Node<'t>) -> bool {
        if self.g.is_leading(child) {
            self.trail.push(child);
        } else if let Some(&start) = self.trail_starts.last() {
            self.trail.truncate(start);
        }
        c.goto_next_sibling()
    }

    /// Back to the parent, after [`Walker::enter`].
    fn leave(&mut self, c: &mut TreeCursor<'t>) {
        self.path.pop();
        if let Some(start) = self.trail_starts.pop() {
            self.trail.truncate(start);
        }
        c.goto_parent();
    }

    /// The comments and attributes right before the node at `depth` (an index into `path`, or
    /// `path.len()` for the node being walked) among its siblings.
    fn leading(&self, depth: usize) -> &[Node<'t>] {
        let Some(depth) = depth.checked_sub(1) else { return &[] };
        let from = self.trail_starts[depth];
        let to = self.trail_starts.get(depth + 1).copied().unwrap_or(self.trail.len());
        &self.trail[from..to]
    }

    fn walk(&mut self, c: &mut TreeCursor<'t>, nesting: u32, ctx: Ctx) {
        let node = c.node();
        let role = self.g.role(node, self.src);
        let flat = |_: &Grammar, _: Option<u16>, _: Node| (nesting, Ctx::default());
        match role {
            // An abstract or interface method declares, it has no code (lizard skips it too).
            Role::Function if self.is_declaration_only(node) => self.children(c, flat),
            Role::Function => {
                let name = names::function_name(self.lang, node, &self.path, self.src);
                self.unit(node, 0, name);
                self.children(c, |_, _, _| (0, Ctx::default()));
                self.open.pop();
            }
            Role::Closure => {
                if !self.open.is_empty() {
                    self.children(c, |_, _, _| (nesting + 1, Ctx::default()));
                } else if let Some(name) = names::closure_name(self.lang, &self.path, self.src) {
                    let up = names::declaration_levels(&self.path);
                    self.unit(node, up, name);
                    self.children(c, |_, _, _| (0, Ctx::default()));
                    self.open.pop();
                } else if self.lang == Language::Go {
                    // gocyclo reports only functions and function literals assigned to variables.
                    self.children(c, |_, _, _| (0, Ctx::default()));
                } else {
                    self.unit(node, 0, "<anonymous>".into());
                    self.children(c, |_, _, _| (0, Ctx::default()));
                    self.open.pop();
                }
            }
            Role::If => {
                self.add(1, if ctx.else_if { 1 } else { 1 + nesting });
                self.walk_if(c, nesting);
            }
            Role::Elif => {
                self.add(1, 1);
                self.walk_if(c, nesting);
            }
            Role::Loop | Role::Catch => {
                self.add(1, 1 + nesting);
                self.walk_structure(c, nesting);
            }
            Role::BareLoop | Role::Switch => {
                self.add(0, 1 + nesting);
                self.walk_structure(c, nesting);
            }
            Role::Ternary => {
                self.add(1, 1 + nesting);
                let condition = self.g.fields.condition.map(|f| f.get());
                self.children(c, |_, field, _| {
                    let deeper = field.is_none() || field != condition;
                    (if deeper { nesting + 1 } else { nesting }, Ctx::default())
                });
            }
            Role::Case | Role::Decision => {
                self.add(1, 0);
                self.children(c, flat);
            }
            Role::Logical | Role::Binary => {
                let logical = role == Role::Logical;
                if logical {
                    let cognitive = if ctx.in_logical { 0 } else { self.operator_changes(node) };
                    self.add(1, cognitive);
                }
                let in_logical = logical || ctx.in_logical;
                self.children(c, |_, _, _| (nesting, Ctx { in_logical, else_if: false }));
            }
            Role::Jump => {
                self.add(0, 1);
                self.children(c, flat);
            }
            Role::Call => {
                if self.is_recursive_call(node) {
                    self.add(0, 1);
                }
                self.children(c, flat);
            }
            Role::Else | Role::Other => self.children(c, flat),
        }
    }

    /// Opens a unit for `node` (the node being walked) named `name`, reported at its ancestor `up`
    /// levels above (the declaration, for a function literal assigned to a variable); the caller
    /// walks the body and pops it.
    fn unit(&mut self, node: Node<'t>, up: usize, name: String) {
        let at_depth = |d: usize| self.path.get(d).copied().unwrap_or(node);
        let depth = self.path.len() - up;
        let anchor = at_depth(depth);
        // Comments sit above the outermost wrapper (`export`, decorators, a template).
        let mut start = depth;
        while start > 0 && suppress::is_wrapper(self.path[start - 1].kind()) {
            start -= 1;
        }
        // A block that begins with the function (Python's, in a class) has the comments before
        // the function outside it, before the block.
        while start > 0
            && self.leading(start).is_empty()
            && self.path[start - 1].start_byte() == at_depth(start).start_byte()
        {
            start -= 1;
        }
        let suppression = suppress::attached(anchor, at_depth(start), self.leading(start), self.src);
        let at = if self.lang == Language::Go { node.start_position() } else { anchor.start_position() };
        let base = names::base_name(&name).to_string();
        self.units.push(FunctionComplexity {
            name,
            line: at.row as u32 + 1,
            column: at.column as u32 + 1,
            end_line: node.end_position().row as u32 + 1,
            cyclomatic: 1,
            cognitive: 0,
            suppression,
        });
        self.open.push((self.units.len() - 1, base, node));
    }

    fn walk_if(&mut self, c: &mut TreeCursor<'t>, nesting: u32) {
        // gocognit walks a Go `else` block at the `if`'s own level; SonarSource nests it.
        let else_nesting = if self.lang == Language::Go { nesting } else { nesting + 1 };
        let alternative = self.g.fields.alternative.map(|x| x.get());
        // Kotlin and Swift name neither branch: what follows the `else` keyword is the alternative.
        let mut after_else = false;
        if !self.enter(c) {
            return;
        }
        loop {
            let field = c.field_id().map(|x| x.get());
            let child = c.node();
            let role = self.g.role(child, self.src);
            let else_keyword = self.g.is_else_keyword(child);
            after_else |= else_keyword;
            // A shell's `elif` and `else` are children no field names.
            let is_alternative = (field.is_some() && field == alternative)
                || matches!(role, Role::Elif | Role::Else)
                || (after_else && field.is_none() && child.is_named() && !else_keyword);
            if is_alternative {
                match role {
                    Role::If | Role::Elif => self.walk(c, nesting, Ctx { else_if: true, in_logical: false }),
                    Role::Else => self.walk_else(c, nesting, else_nesting),
                    _ => {
                        self.add(0, 1);
                        self.walk(c, else_nesting, Ctx::default());
                    }
                }
            } else if self.is_branch(field, child) {
                self.walk(c, nesting + 1, Ctx::default());
            } else {
                self.walk(c, nesting, Ctx::default());
            }
            if !self.next(c, child) {
                break;
            }
        }
        self.leave(c);
    }

    /// Whether a child of an `if` (with its field) is the branch taken: its `consequence` or
    /// `body`, Python's block, or a shell's statements that no field names.
    fn is_branch(&self, field: Option<u16>, child: Node) -> bool {
        let f = self.g.fields;
        let (consequence, body) = (f.consequence.map(|x| x.get()), f.body.map(|x| x.get()));
        (field.is_some() && (field == consequence || field == body))
            || (self.lang == Language::Python && self.g.is_body(child))
            || (self.g.if_children_nest() && field.is_none() && child.is_named())
    }

    /// An `else` clause: `else if` when it holds a lone `if`, else one more for the `else`.
    fn walk_else(&mut self, c: &mut TreeCursor<'t>, nesting: u32, else_nesting: u32) {
        let node = c.node();
        let mut cursor = node.walk();
        let statements: Vec<Node> = node.named_children(&mut cursor).filter(|n| !self.g.is_comment(*n)).collect();
        let else_if = statements.len() == 1 && self.g.role(statements[0], self.src) == Role::If;
        if !else_if {
            self.add(0, 1);
        }
        let g = self.g;
        let src = self.src;
        self.children(c, |_, _, child| {
            let is_if = else_if && g.role(child, src) == Role::If;
            (if else_if { nesting } else { else_nesting }, Ctx { else_if: is_if, in_logical: false })
        });
    }

    /// Loops, switches, catch clauses: the body one level deeper, the header at this level.
    fn walk_structure(&mut self, c: &mut TreeCursor<'t>, nesting: u32) {
        let body = self.g.fields.body.map(|f| f.get());
        self.children(c, |g, field, child| {
            let deeper = (field.is_some() && field == body) || g.is_body(child);
            (if deeper { nesting + 1 } else { nesting }, Ctx::default())
        });
    }

    /// One per run of the same operator, left to right, through the whole unparenthesized
    /// expression (`a && b && c || d` is 2).
    fn operator_changes(&self, node: Node) -> u32 {
        let mut ops = Vec::new();
        self.collect_ops(node, &mut ops);
        let mut changes = 0;
        let mut last = None;
        for op in ops {
            if Some(op) != last {
                changes += 1;
                last = Some(op);
            }
        }
        changes
    }

    fn collect_ops(&self, node: Node, ops: &mut Vec<u16>) {
        if !self.g.is_binary(node) {
            return;
        }
        let f = self.g.fields;
        let Some(left) = f.left.and_then(|l| node.child_by_field_id(l.get())) else {
            // No operand fields (a shell's command list): operands and operators in order.
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                if child.is_named() {
                    self.collect_ops(child, ops);
                } else if self.g.is_logical_token(child) {
                    ops.push(child.kind_id());
                }
            }
            return;
        };
        self.collect_ops(left, ops);
        if let Some(op) = self.g.logical_operator(node, self.src) {
            ops.push(op);
        }
        if let Some(right) = f.right.and_then(|r| node.child_by_field_id(r.get())) {
            self.collect_ops(right, ops);
        }
    }

    /// A Java, C#, PHP or Kotlin method without a body (abstract, or in an interface).
    fn is_declaration_only(&self, node: Node) -> bool {
        match self.lang {
            Language::Java | Language::CSharp | Language::Php => {
                self.g.fields.body.is_some_and(|b| node.child_by_field_id(b.get()).is_none())
            }
            Language::Kotlin => {
                let mut cursor = node.walk();
                let has_body = node.named_children(&mut cursor).any(|c| c.kind() == "function_body");
                node.kind() == "function_declaration" && !has_body
            }
            _ => false,
        }
    }

    fn is_recursive_call(&self, node: Node) -> bool {
        let Some((unit, base, node_of_unit)) = self.open.last() else { return false };
        let is_go_method = self.lang == Language::Go && self.units[*unit].name.starts_with('(');
        // Kotlin and Swift name no callee field: it is the call's first child.
        let callee = match self.g.fields.function {
            Some(f) => node.child_by_field_id(f.get()),
            None => node.named_child(0),
        };
        callee.filter(|f| self.g.is_identifier(*f)).and_then(|f| f.utf8_text(self.src).ok()).is_some_and(|callee| {
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
