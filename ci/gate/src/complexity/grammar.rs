//! What each language's tree-sitter node kinds mean to the complexity walker, as tables indexed
//! by kind id (string comparisons per node would cost more than the walk itself).
//!
//! The per-language rules (documented in the README's gate section):
//! - cyclomatic: 1, plus one per `if` / `else if` / `elif` / `elsif` / `unless`, loop (`loop` in
//!   Rust excepted: it has no condition), non-default `case` / `when` / match arm / Go comm clause,
//!   `catch` / `except` / `rescue`, ternary, Rust match guard, Python comprehension `for` / `if`, and
//!   each `&&` / `||` (`and` / `or`, `??` in JavaScript, TypeScript, C# and PHP; a shell's `&&` /
//!   `||` lists). For Go this is exactly gocyclo's rule set.
//! - cognitive: SonarSource's rules, as gocognit applies them to Go.

use std::{num::NonZeroU16, sync::OnceLock};

use tree_sitter::Node;

use crate::lang::Language;

/// The part a node plays in complexity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A named function or method: a unit of its own.
    Function,
    /// An anonymous function: counts toward the enclosing function, one nesting level deeper.
    Closure,
    /// `if` (or `if` expression).
    If,
    /// Python's `elif` clause.
    Elif,
    /// A loop counted by both measures.
    Loop,
    /// A loop without a condition (Rust `loop`): cognitive only.
    BareLoop,
    /// `switch`, `match`, `select`: cognitive only (its cases count for cyclomatic).
    Switch,
    /// A non-default case, arm or comm clause: cyclomatic only.
    Case,
    /// `catch` / `except`.
    Catch,
    /// `a ? b : c`, `b if a else c`.
    Ternary,
    /// A logical operator expression (`&&`, `||`, ...).
    Logical,
    /// Another binary expression (logical sequences run through it).
    Binary,
    /// A Rust match guard or a comprehension clause: one more path, cyclomatic only.
    Decision,
    /// `break` / `continue` to a label, `goto`: cognitive only.
    Jump,
    /// A call (direct recursion adds to cognitive).
    Call,
    /// An `else` clause node (C, C++, JavaScript, TypeScript, Rust, Python).
    Else,
    /// Anything else.
    Other,
}

/// What a kind is before looking at the node itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fixed(Role),
    /// Binary expression: logical when its operator is.
    Binary,
    /// C `case_statement`: a case when it has a value (not `default:`).
    CaseWithValue,
    /// Rust `match_arm`: a case unless it is the `_` arm.
    MatchArm,
    /// Rust `match_pattern`: a decision when it has a guard.
    MatchPattern,
    /// Python `case_clause`: a case unless it is `case _:`.
    PyCase,
    /// `break` / `continue`: a jump when labeled.
    MaybeLabeled,
    /// A case label or arm that is the default one when its text starts with `default`, or its
    /// pattern is `_` or `*` (Java, C#, shell).
    LabeledCase,
}

/// Field ids the walker asks about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields {
    /// `condition`.
    pub condition: Option<NonZeroU16>,
    /// `consequence`.
    pub consequence: Option<NonZeroU16>,
    /// `alternative`.
    pub alternative: Option<NonZeroU16>,
    /// `body`.
    pub body: Option<NonZeroU16>,
    /// `left`.
    pub left: Option<NonZeroU16>,
    /// `right`.
    pub right: Option<NonZeroU16>,
    /// `operator`.
    pub operator: Option<NonZeroU16>,
    /// The callee of a call: `function`, or the language's own name for it (`name`, `method`).
    pub function: Option<NonZeroU16>,
    value: Option<NonZeroU16>,
    pattern: Option<NonZeroU16>,
    guard: Option<NonZeroU16>,
}

/// A language's tables.
pub struct Grammar {
    /// The language.
    pub lang: Language,
    kinds: Vec<Kind>,
    body: Vec<bool>,
    logical_op: Vec<bool>,
    identifier: Vec<bool>,
    label: Vec<bool>,
    comment: Vec<bool>,
    leading: Vec<bool>,
    /// Field ids.
    pub fields: Fields,
}

fn either(condition: bool, yes: Role, no: Role) -> Role {
    if condition {
        yes
    } else {
        no
    }
}

// armtune:allow complexity -- a table: one arm per language and node kind, no logic between them
fn kind_of(lang: Language, name: &str) -> Kind {
    use Role::*;
    let fixed = Kind::Fixed;
    match lang {
        Language::Go => match name {
            "function_declaration" | "method_declaration" => fixed(Function),
            "func_literal" => fixed(Closure),
            "if_statement" => fixed(If),
            "for_statement" => fixed(Loop),
            "expression_switch_statement" | "type_switch_statement" | "select_statement" => fixed(Switch),
            "expression_case" | "type_case" | "communication_case" => fixed(Case),
            "binary_expression" => Kind::Binary,
            "break_statement" | "continue_statement" => Kind::MaybeLabeled,
            "goto_statement" => fixed(Jump),
            "call_expression" => fixed(Call),
            _ => fixed(Other),
        },
        Language::Rust => match name {
            "function_item" => fixed(Function),
            "closure_expression" => fixed(Closure),
            "if_expression" => fixed(If),
            "for_expression" | "while_expression" => fixed(Loop),
            "loop_expression" => fixed(BareLoop),
            "match_expression" => fixed(Switch),
            "match_arm" => Kind::MatchArm,
            "match_pattern" => Kind::MatchPattern,
            "binary_expression" => Kind::Binary,
            "break_expression" | "continue_expression" => Kind::MaybeLabeled,
            "call_expression" => fixed(Call),
            "else_clause" => fixed(Else),
            _ => fixed(Other),
        },
        Language::C | Language::Cpp => match name {
            "function_definition" => fixed(Function),
            "lambda_expression" => fixed(Closure),
            "if_statement" => fixed(If),
            "for_statement" | "for_range_loop" | "while_statement" | "do_statement" => fixed(Loop),
            "switch_statement" => fixed(Switch),
            "case_statement" => Kind::CaseWithValue,
            "catch_clause" => fixed(Catch),
            "conditional_expression" => fixed(Ternary),
            "binary_expression" => Kind::Binary,
            "goto_statement" => fixed(Jump),
            "call_expression" => fixed(Call),
            "else_clause" => fixed(Else),
            _ => fixed(Other),
        },
        Language::Python => match name {
            "function_definition" => fixed(Function),
            "lambda" => fixed(Closure),
            "if_statement" => fixed(If),
            "elif_clause" => fixed(Elif),
            "for_statement" | "while_statement" => fixed(Loop),
            "match_statement" => fixed(Switch),
            "case_clause" => Kind::PyCase,
            "except_clause" | "except_group_clause" => fixed(Catch),
            "conditional_expression" => fixed(Ternary),
            "boolean_operator" => Kind::Binary,
            "for_in_clause" | "if_clause" => fixed(Decision),
            "call" => fixed(Call),
            "else_clause" => fixed(Else),
            _ => fixed(Other),
        },
        Language::Java | Language::CSharp | Language::Ruby | Language::Php | Language::Lua | Language::Shell => {
            more_kind_of(lang, name)
        }
        Language::Kotlin | Language::Swift | Language::Scala => jvm_and_swift_kind_of(lang, name),
        Language::JavaScript | Language::TypeScript | Language::Tsx => match name {
            "function_declaration" | "generator_function_declaration" | "method_definition" => fixed(Function),
            "arrow_function" | "function_expression" | "function" | "generator_function" => fixed(Closure),
            "if_statement" => fixed(If),
            "for_statement" | "for_in_statement" | "while_statement" | "do_statement" => fixed(Loop),
            "switch_statement" => fixed(Switch),
            "switch_case" => fixed(Case),
            "catch_clause" => fixed(Catch),
            "ternary_expression" => fixed(Ternary),
            "binary_expression" => Kind::Binary,
            "break_statement" | "continue_statement" => Kind::MaybeLabeled,
            "call_expression" => fixed(Call),
            "else_clause" => fixed(Else),
            _ => fixed(Other),
        },
    }
}

// armtune:allow complexity -- a table: one arm per language and node kind, no logic between them
/// The languages lizard covers beside the first eight (see [`kind_of`]).
fn more_kind_of(lang: Language, name: &str) -> Kind {
    use Role::*;
    let fixed = Kind::Fixed;
    match lang {
        Language::Java => match name {
            "method_declaration" | "constructor_declaration" | "compact_constructor_declaration" => fixed(Function),
            "lambda_expression" => fixed(Closure),
            "if_statement" => fixed(If),
            "for_statement" | "enhanced_for_statement" | "while_statement" | "do_statement" => fixed(Loop),
            "switch_expression" => fixed(Switch),
            "switch_label" => Kind::LabeledCase,
            "catch_clause" => fixed(Catch),
            "ternary_expression" => fixed(Ternary),
            "binary_expression" => Kind::Binary,
            "break_statement" | "continue_statement" => Kind::MaybeLabeled,
            "method_invocation" => fixed(Call),
            _ => fixed(Other),
        },
        Language::CSharp => match name {
            "method_declaration"
            | "constructor_declaration"
            | "destructor_declaration"
            | "local_function_statement"
            | "accessor_declaration"
            | "operator_declaration"
            | "conversion_operator_declaration" => fixed(Function),
            "lambda_expression" | "anonymous_method_expression" => fixed(Closure),
            "if_statement" => fixed(If),
            "for_statement" | "foreach_statement" | "while_statement" | "do_statement" => fixed(Loop),
            "switch_statement" | "switch_expression" => fixed(Switch),
            "switch_section" | "switch_expression_arm" => Kind::LabeledCase,
            "catch_clause" => fixed(Catch),
            "conditional_expression" => fixed(Ternary),
            "binary_expression" => Kind::Binary,
            "goto_statement" => fixed(Jump),
            "invocation_expression" => fixed(Call),
            _ => fixed(Other),
        },
        Language::Ruby => match name {
            "method" | "singleton_method" => fixed(Function),
            "block" | "do_block" | "lambda" => fixed(Closure),
            "if" | "unless" | "if_modifier" | "unless_modifier" => fixed(If),
            "elsif" => fixed(Elif),
            "while" | "until" | "for" | "while_modifier" | "until_modifier" => fixed(Loop),
            "case" | "case_match" => fixed(Switch),
            "when" | "in_clause" => fixed(Case),
            "rescue" | "rescue_modifier" => fixed(Catch),
            "conditional" => fixed(Ternary),
            "binary" => Kind::Binary,
            "call" => fixed(Call),
            "else" => fixed(Else),
            _ => fixed(Other),
        },
        Language::Php => match name {
            "function_definition" | "method_declaration" => fixed(Function),
            "anonymous_function" | "arrow_function" => fixed(Closure),
            "if_statement" => fixed(If),
            "else_if_clause" => fixed(Elif),
            "for_statement" | "foreach_statement" | "while_statement" | "do_statement" => fixed(Loop),
            "switch_statement" | "match_expression" => fixed(Switch),
            "case_statement" | "match_conditional_expression" => fixed(Case),
            "catch_clause" => fixed(Catch),
            "conditional_expression" => fixed(Ternary),
            "binary_expression" => Kind::Binary,
            "goto_statement" => fixed(Jump),
            "function_call_expression" => fixed(Call),
            "else_clause" => fixed(Else),
            _ => fixed(Other),
        },
        Language::Lua => match name {
            "function_declaration" => fixed(Function),
            "function_definition" => fixed(Closure),
            "if_statement" => fixed(If),
            "elseif_statement" => fixed(Elif),
            "for_statement" | "while_statement" | "repeat_statement" => fixed(Loop),
            "binary_expression" => Kind::Binary,
            "goto_statement" => fixed(Jump),
            "function_call" => fixed(Call),
            "else_statement" => fixed(Else),
            _ => fixed(Other),
        },
        _ => match name {
            // Shell.
            "function_definition" => fixed(Function),
            "if_statement" => fixed(If),
            "elif_clause" => fixed(Elif),
            "for_statement" | "c_style_for_statement" | "while_statement" => fixed(Loop),
            "case_statement" => fixed(Switch),
            "case_item" => Kind::LabeledCase,
            "ternary_expression" => fixed(Ternary),
            // `a && b || c` command lists as well as `[[ a && b ]]`.
            "binary_expression" | "list" => Kind::Binary,
            "else_clause" => fixed(Else),
            _ => fixed(Other),
        },
    }
}

// armtune:allow complexity -- a table: one arm per language and node kind, no logic between them
/// Kotlin, Swift and Scala (see [`kind_of`]).
fn jvm_and_swift_kind_of(lang: Language, name: &str) -> Kind {
    use Role::*;
    let fixed = Kind::Fixed;
    match lang {
        Language::Kotlin => match name {
            "function_declaration" | "secondary_constructor" | "getter" | "setter" => fixed(Function),
            "lambda_literal" | "anonymous_function" => fixed(Closure),
            "if_expression" => fixed(If),
            "for_statement" | "while_statement" | "do_while_statement" => fixed(Loop),
            "when_expression" => fixed(Switch),
            "when_entry" => Kind::LabeledCase,
            "catch_block" => fixed(Catch),
            "binary_expression" => Kind::Binary,
            "call_expression" => fixed(Call),
            _ => fixed(Other),
        },
        Language::Swift => match name {
            "function_declaration"
            | "init_declaration"
            | "deinit_declaration"
            | "subscript_declaration"
            | "computed_getter"
            | "computed_setter" => fixed(Function),
            "lambda_literal" => fixed(Closure),
            "if_statement" => fixed(If),
            // One more path, its `else` the body: a loop's shape.
            "guard_statement" => fixed(Loop),
            "for_statement" | "while_statement" | "repeat_while_statement" => fixed(Loop),
            "switch_statement" => fixed(Switch),
            "switch_entry" => Kind::LabeledCase,
            "catch_block" => fixed(Catch),
            "ternary_expression" => fixed(Ternary),
            "conjunction_expression" | "disjunction_expression" | "nil_coalescing_expression" => Kind::Binary,
            "call_expression" => fixed(Call),
            _ => fixed(Other),
        },
        _ => match name {
            // Scala.
            "function_definition" => fixed(Function),
            "lambda_expression" => fixed(Closure),
            "if_expression" => fixed(If),
            "for_expression" | "while_expression" | "do_while_expression" => fixed(Loop),
            // A `catch` is a match on the exception: its cases count as a match's do.
            "match_expression" | "catch_clause" => fixed(Switch),
            "case_clause" => Kind::LabeledCase,
            // A pattern guard (`case x if …`) or a for-comprehension filter.
            "guard" => fixed(Decision),
            "infix_expression" => Kind::Binary,
            "call_expression" => fixed(Call),
            _ => fixed(Other),
        },
    }
}

fn logical_ops(lang: Language) -> &'static [&'static str] {
    match lang {
        Language::Go | Language::Rust | Language::Java | Language::Shell | Language::Scala => &["&&", "||"],
        Language::Swift => &["&&", "||", "??"],
        Language::Kotlin => &["&&", "||", "?:"],
        Language::C | Language::Cpp | Language::Ruby => &["&&", "||", "and", "or"],
        Language::Python | Language::Lua => &["and", "or"],
        Language::JavaScript | Language::TypeScript | Language::Tsx | Language::CSharp => &["&&", "||", "??"],
        Language::Php => &["&&", "||", "and", "or", "xor", "??"],
    }
}

fn label_kind(lang: Language) -> &'static str {
    match lang {
        Language::Go => "label_name",
        Language::Rust => "label",
        Language::Java => "identifier",
        _ => "statement_identifier",
    }
}

/// The field naming a call's callee, where it is not `function`.
fn callee_field(lang: Language) -> &'static str {
    match lang {
        Language::Java | Language::Lua => "name",
        Language::Ruby => "method",
        _ => "function",
    }
}

/// The node kind of a plain name (what a recursive call's callee is).
fn identifier_kind(lang: Language) -> &'static str {
    match lang {
        Language::Php => "name",
        Language::Swift => "simple_identifier",
        _ => "identifier",
    }
}

/// Node kinds whose children are a body, walked one nesting level deeper under a structure.
fn is_body_kind(name: &str) -> bool {
    matches!(
        name,
        "block"
            | "compound_statement"
            | "statement_block"
            | "statement_list"
            | "match_block"
            | "switch_body"
            | "expression_case"
            | "type_case"
            | "communication_case"
            | "default_case"
            | "case_statement"
            | "switch_block"
            | "switch_section"
            | "then"
            | "do"
            | "body_statement"
            | "block_body"
            | "colon_block"
            | "do_group"
            | "case_item"
            | "statements"
    )
}

impl Grammar {
    fn build(lang: Language) -> Grammar {
        let ts = lang.grammar();
        let count = ts.node_kind_count();
        let mut g = Grammar {
            lang,
            kinds: Vec::with_capacity(count),
            body: Vec::with_capacity(count),
            logical_op: Vec::with_capacity(count),
            identifier: Vec::with_capacity(count),
            label: Vec::with_capacity(count),
            comment: Vec::with_capacity(count),
            leading: Vec::with_capacity(count),
            fields: Fields::default(),
        };
        for id in 0..count as u16 {
            let name = ts.node_kind_for_id(id).unwrap_or("");
            let named = ts.node_kind_is_named(id);
            g.kinds.push(if named { kind_of(lang, name) } else { Kind::Fixed(Role::Other) });
            g.body.push(named && is_body_kind(name));
            g.logical_op.push(!named && logical_ops(lang).contains(&name));
            g.identifier.push(named && name == identifier_kind(lang));
            g.label.push(named && name == label_kind(lang));
            let comment = name.contains("comment");
            g.comment.push(comment);
            g.leading.push(comment || (named && matches!(name, "attribute_item" | "decorator")));
        }
        let field = |n: &str| ts.field_id_for_name(n);
        g.fields = Fields {
            condition: field("condition"),
            consequence: field("consequence"),
            alternative: field("alternative"),
            body: field("body"),
            left: field("left"),
            right: field("right"),
            operator: field("operator"),
            function: field(callee_field(lang)),
            value: field("value"),
            pattern: field("pattern"),
            guard: field("guard"),
        };
        g
    }

    /// The tables of `lang`, built once.
    pub fn of(lang: Language) -> &'static Grammar {
        static TABLES: [OnceLock<Grammar>; Language::ALL.len()] = [const { OnceLock::new() }; Language::ALL.len()];
        TABLES[lang.index()].get_or_init(|| Grammar::build(lang))
    }

    /// The role of `node`.
    pub fn role(&self, node: Node, src: &[u8]) -> Role {
        let Some(kind) = self.kinds.get(node.kind_id() as usize) else { return Role::Other };
        let has = |field: Option<NonZeroU16>| field.and_then(|f| node.child_by_field_id(f.get())).is_some();
        match *kind {
            Kind::Fixed(role) => role,
            Kind::Binary => either(self.is_logical(node, src), Role::Logical, Role::Binary),
            Kind::CaseWithValue => either(has(self.fields.value), Role::Case, Role::Other),
            Kind::MatchArm => either(self.is_wildcard_arm(node, src), Role::Other, Role::Case),
            Kind::MatchPattern => either(has(self.fields.condition), Role::Decision, Role::Other),
            Kind::PyCase => either(self.is_wildcard_case(node, src), Role::Other, Role::Case),
            Kind::LabeledCase => either(is_default_label(node, src), Role::Other, Role::Case),
            Kind::MaybeLabeled => {
                let mut cursor = node.walk();
                let labeled = node
                    .named_children(&mut cursor)
                    .any(|c| self.label.get(c.kind_id() as usize).copied().unwrap_or(false));
                either(labeled, Role::Jump, Role::Other)
            }
        }
    }

    /// `_ => ...` without a guard: Rust's default arm.
    fn is_wildcard_arm(&self, arm: Node, src: &[u8]) -> bool {
        let Some(pattern) = self.fields.pattern.and_then(|f| arm.child_by_field_id(f.get())) else { return false };
        let guarded = self.fields.condition.and_then(|c| pattern.child_by_field_id(c.get())).is_some();
        !guarded && pattern.utf8_text(src).map(str::trim) == Ok("_")
    }

    /// Whether a binary expression node has a logical operator.
    pub fn is_logical(&self, node: Node, src: &[u8]) -> bool {
        self.logical_operator(node, src).is_some()
    }

    /// Whether `node` is a logical operator token.
    pub fn is_logical_token(&self, node: Node) -> bool {
        !node.is_named() && self.logical_op.get(node.kind_id() as usize).copied().unwrap_or(false)
    }

    /// Whether `node` is a binary expression of any operator.
    pub fn is_binary(&self, node: Node) -> bool {
        matches!(self.kinds.get(node.kind_id() as usize), Some(Kind::Binary))
    }

    /// The logical operator of a binary expression node, if it has one: its `operator` field, or
    /// for a node without one (a shell's command list) its first operator token.
    pub fn logical_operator(&self, node: Node, src: &[u8]) -> Option<u16> {
        let is_op = |op: Node| self.logical_op.get(op.kind_id() as usize).copied().unwrap_or(false);
        match self.fields.operator.and_then(|f| node.child_by_field_id(f.get())) {
            // Scala's operators are names (`operator_identifier`): known by their text, and told
            // apart by an id past every kind's.
            Some(op) if op.is_named() => {
                let text = op.utf8_text(src).ok()?;
                let i = logical_ops(self.lang).iter().position(|o| *o == text)?;
                Some(u16::MAX - i as u16)
            }
            Some(op) => is_op(op).then(|| op.kind_id()),
            None => {
                let mut cursor = node.walk();
                let op = node.children(&mut cursor).find(|c| !c.is_named() && is_op(*c));
                op.map(|op| op.kind_id())
            }
        }
    }

    /// Whether children of this kind are a body (one level deeper under a structure).
    pub fn is_body(&self, node: Node) -> bool {
        self.body.get(node.kind_id() as usize).copied().unwrap_or(false)
    }

    /// Whether the node is a comment.
    pub fn is_comment(&self, node: Node) -> bool {
        self.comment.get(node.kind_id() as usize).copied().unwrap_or(false)
    }

    /// Whether the node is a comment or an attribute, which a suppression above a function can
    /// sit among.
    pub fn is_leading(&self, node: Node) -> bool {
        self.leading.get(node.kind_id() as usize).copied().unwrap_or(false)
    }

    /// Whether the node is a plain identifier.
    pub fn is_identifier(&self, node: Node) -> bool {
        self.identifier.get(node.kind_id() as usize).copied().unwrap_or(false)
    }

    /// Whether children of an `if` that no field names are its branch (a shell's `then` part;
    /// Kotlin's and Swift's branches, the one after `else` being the alternative).
    pub fn if_children_nest(&self) -> bool {
        matches!(self.lang, Language::Shell | Language::Kotlin | Language::Swift)
    }

    /// Whether `node` is a bare `else` keyword between an `if`'s branches (Kotlin, Swift), not an
    /// `else` clause holding its branch.
    pub fn is_else_keyword(&self, node: Node) -> bool {
        node.kind() == "else"
            && node.named_child_count() == 0
            && matches!(self.lang, Language::Kotlin | Language::Swift)
    }

    /// `case _:` without a guard: Python's default case.
    fn is_wildcard_case(&self, case: Node, src: &[u8]) -> bool {
        if self.fields.guard.and_then(|g| case.child_by_field_id(g.get())).is_some() {
            return false;
        }
        let mut cursor = case.walk();
        let patterns: Vec<Node> = case.named_children(&mut cursor).filter(|c| c.kind() == "case_pattern").collect();
        patterns.len() == 1 && patterns[0].utf8_text(src).map(str::trim) == Ok("_")
    }
}

/// A default case label or arm: `default:` / `default ->` (Java, C#, Swift), `else ->` (Kotlin),
/// `_ => ...` (C#, Scala), `*)` (shell).
fn is_default_label(node: Node, src: &[u8]) -> bool {
    let text = node.utf8_text(src).unwrap_or("").trim_start();
    // Kotlin's `when` says `else ->`.
    let word = text.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or("");
    if word == "default" || word == "else" {
        return true;
    }
    let mut cursor = node.walk();
    let first = node.named_children(&mut cursor).find(|c| !c.kind().contains("comment"));
    first.is_some_and(|c| matches!(c.utf8_text(src).map(str::trim), Ok("_" | "*")))
}
