//! Complexity values: hand-checked fixtures per language, and gocyclo's and gocognit's own numbers
//! for part of Go's standard library.

use std::{collections::HashMap, path::Path, process::Command};

use armtune_gate::{complexity, lang::Language};

fn fixture(name: &str) -> Vec<complexity::FunctionComplexity> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/complexity").join(name);
    let src = std::fs::read(&path).unwrap();
    let result = complexity::analyze(Language::of(&path).unwrap(), &src);
    assert!(result.syntax_errors.is_empty(), "{name}: {:?}", result.syntax_errors);
    result.functions
}

/// (name, line, cyclomatic, cognitive) of every function, in order.
fn table(functions: &[complexity::FunctionComplexity]) -> Vec<(&str, u32, u32, u32)> {
    functions.iter().map(|f| (f.name.as_str(), f.line, f.cyclomatic, f.cognitive)).collect()
}

#[test]
fn go_matches_gocyclo_and_gocognit() {
    // Values from running gocyclo and gocognit on the fixture.
    let f = fixture("sample.go");
    assert_eq!(
        table(&f),
        [
            ("Plain", 6, 1, 0),
            ("(*Server).Route", 9, 14, 15),
            ("handler", 45, 2, 1),
            ("Ignored", 53, 4, 3),
            ("fact", 60, 2, 2),
            ("(Server).String", 69, 1, 0),
        ]
    );
    // gocyclo prints the function literal's own position for `var handler = func...`.
    assert_eq!((f[2].line, f[2].column), (45, 15));
    assert!(f[3].suppression.cyclomatic && !f[3].suppression.cognitive, "//gocyclo:ignore");
}

#[test]
fn python() {
    let f = fixture("sample.py");
    assert_eq!(
        table(&f),
        [
            ("simple", 1, 1, 0),
            // if, and, elif, or, for (cyclomatic +5); cognitive: if 1, and 1, elif 1, or 1, else 1, for in else 2.
            ("branches", 5, 6, 7),
            // for, ternary, except, comprehension for and if; cognitive: for 1, ternary 2, except 2.
            ("Box.method", 17, 6, 5),
            ("square", 27, 1, 0),
            // two non-wildcard cases; cognitive: match 1.
            ("dispatch", 30, 3, 1),
            ("allowed", 41, 1, 0),
        ]
    );
    let allowed = &f[5].suppression;
    assert!(allowed.cyclomatic && allowed.cognitive);
    assert_eq!(allowed.reason.as_deref(), Some("table-driven parser, split is worse"));
}

#[test]
fn rust() {
    assert_eq!(
        table(&fixture("sample.rs")),
        [
            ("plain", 1, 1, 0),
            // if, &&, else if, arm 1, guarded arm, guard; cognitive: if 1, && 1, else if 1, else 1, match 2.
            ("classify", 5, 7, 6),
            // for, while, if, ||, closure's if; cognitive: for 1, while 2, if 3, || 1, break 'outer 1,
            // closure if 2 and else 1, loop 1.
            ("Counter::walk", 22, 6, 12),
            // cognitive: if 1, else 1, recursion 1.
            ("fact", 40, 2, 3),
        ]
    );
}

#[test]
fn c_and_cpp() {
    // for, if, &&, else if, two cases, ternary; cognitive: for 1, if 2, && 1, else if 1, goto 1,
    // switch 1, ternary 1.
    assert_eq!(table(&fixture("sample.c")), [("sum", 1, 8, 8)]);
    // if, or, catch, lambda's ternary, range for; cognitive: if 1, or 1, catch 1, ternary in lambda 2, for 1.
    assert_eq!(table(&fixture("sample.cpp")), [("geo::Shape::area", 4, 6, 6), ("geo_free", 17, 1, 0)]);
}

#[test]
fn javascript_and_typescript() {
    assert_eq!(
        table(&fixture("sample.js")),
        [
            // if, &&, ||, for-of, two cases, ??, ternary; cognitive: if 1, &&/|| 2, for 1, switch 2, ?? 1, ternary 1.
            ("check", 1, 9, 8),
            ("Store.get", 16, 2, 1),
            ("handler", 21, 2, 1),
        ]
    );
    let ts = fixture("sample.ts");
    assert_eq!(table(&ts), [("parse", 2, 5, 5)]);
    assert!(ts[0].suppression.any() && ts[0].suppression.reason.is_none(), "allow without a reason");
}

#[test]
fn java_and_csharp() {
    let java = fixture("Sample.java");
    assert_eq!(
        table(&java),
        [
            ("Router::plain", 4, 1, 0),
            // if, &&, else if, ||, for, if, two cases; cognitive: if 1, && 1, else if 1, || 1, else 1,
            // for in else 2, if in for 3, switch 1.
            ("Router::route", 8, 9, 11),
            // ternary, catch; cognitive: ternary 1, catch 1.
            ("Router::guarded", 30, 3, 2),
            // ternary; cognitive: ternary 1, recursion 1.
            ("Router::fact", 39, 2, 2),
        ]
    );
    assert_eq!(java[3].suppression.reason.as_deref(), Some("a parser's table"));
    assert_eq!(
        table(&fixture("sample.cs")),
        [
            // if, &&, ??, foreach, if, two non-discard arms; cognitive: if 1, && 1, foreach 1, ?? 1,
            // if in foreach 2, switch expression 1.
            ("Demo::Shop::Price", 7, 8, 7),
            ("Demo::Shop::Safe", 25, 2, 1),
            ("Demo::Shop::Name::get", 37, 2, 1),
            // three `case` labels (two of them over one statement list), as lizard counts them;
            // cognitive: switch 1.
            ("Demo::Shop::Grade", 40, 4, 1),
        ]
    );
}

#[test]
fn kotlin_swift_and_scala() {
    let kotlin = fixture("sample.kt");
    assert_eq!(
        table(&kotlin),
        [
            ("Router::plain", 4, 1, 0),
            // if, &&, else if, ||, for, if, two non-else `when` entries; cognitive: if 1, && 1,
            // else if 1, || 1, else 1, for in else 2, if in for 3, when 1.
            ("Router::route", 6, 9, 11),
            // catch, if, ?:; cognitive: if 1, else 1, catch 1, ?: 1.
            ("Router::guarded", 25, 4, 4),
            // if; cognitive: if 1, else 1, recursion 1.
            ("Router::fact", 34, 2, 3),
            // The lambda's while counts toward the function, one level deeper: 2.
            ("Router::each", 36, 2, 2),
            // A property getter; the interface's body-less `fun size()` is no function.
            ("Sized::empty::get", 51, 2, 1),
            // for, do-while, if; cognitive: for 1, do-while 2, if 3 (the labeled `continue@outer`
            // is not counted).
            ("top", 54, 4, 6),
        ]
    );
    assert_eq!(kotlin[3].suppression.reason.as_deref(), Some("a parser's table"));
    assert_eq!(
        table(&fixture("sample.swift")),
        [
            ("Router::plain", 4, 1, 0),
            ("Router::route", 8, 9, 11),
            // catch, ternary, ??; cognitive: ternary 1, catch 1, ?? 1.
            ("Router::guarded", 30, 4, 3),
            // ternary; cognitive: ternary 1, recursion 1.
            ("Router::fact", 39, 2, 2),
            ("Router::each", 43, 2, 2),
            ("Box::size::get", 57, 2, 1),
            ("Box::size::set", 58, 1, 0),
            // guard, for, repeat-while, if; cognitive: guard 1, for 1, repeat 2, if 3.
            ("top", 62, 5, 7),
        ]
    );
    assert_eq!(
        table(&fixture("sample.scala")),
        [
            ("Router::plain", 4, 1, 0),
            // As Kotlin's, with two non-wildcard `case`s.
            ("Router::route", 6, 9, 11),
            // if, the catch's one case; cognitive: if 1, else 1, catch 1.
            ("Router::guarded", 25, 3, 3),
            ("Router::fact", 34, 2, 3),
            ("Router::each", 36, 2, 2),
            // do-while, &&; cognitive: do-while 1, && 1.
            ("Top::top", 48, 3, 2),
        ]
    );
}

#[test]
fn text_in_another_language_is_given_up_and_the_next_file_still_parses() {
    // capstone's test vectors are named `.s.cs`: assembly, not C#. tree-sitter's error recovery
    // takes about 10 ms a KiB on such text (1.5 s for this), against 0.1-0.3 ms for C#.
    let mut vectors = String::from("# CS_ARCH_SYSZ, 0, None\n");
    for i in 0..4000u32 {
        let b = i.wrapping_mul(2654435761);
        vectors += &format!(
            "0x{:02x},0x{:02x},0x{:02x},0x{:02x} = a %r{}, {}(%r{})\n",
            b >> 24,
            (b >> 16) & 255,
            (b >> 8) & 255,
            b & 255,
            i % 16,
            b % 4096,
            (i / 16) % 16
        );
    }
    let given_up = complexity::analyze(Language::CSharp, vectors.as_bytes());
    assert!(given_up.abandoned && given_up.functions.is_empty());
    // The same thread's parser starts the next file afresh (a stopped parser would resume).
    let csharp = b"class A { int F(int x) { if (x > 0) { return 1; } return 0; } }";
    let next = complexity::analyze(Language::CSharp, csharp);
    assert!(!next.abandoned && next.syntax_errors.is_empty());
    assert_eq!(table(&next.functions), [("A::F", 1, 2, 1)]);
    // However long, a file without syntax errors is never given up.
    let long: String =
        (0..3000).map(|i| format!("class C{i} {{ int F(int x) {{ return x > {i} ? 1 : 0; }} }}\n")).collect();
    let clean = complexity::analyze(Language::CSharp, long.as_bytes());
    assert!(!clean.abandoned && clean.functions.len() == 3000);
}

#[test]
fn ruby_php_lua_and_shell() {
    assert_eq!(
        table(&fixture("sample.rb")),
        [
            // modifier if in the block, if, &&, elsif, ||; cognitive: modifier if in the block 2, if 1,
            // && 1, elsif 1, || 1, else 1.
            ("Shop::Cart::total", 3, 6, 7),
            // two whens; cognitive: case 1.
            ("Shop::Cart::self.kind", 19, 3, 1),
            ("Shop::Cart::safe", 27, 2, 1),
            // ternary; cognitive: ternary 1, recursion 1.
            ("Shop::Cart::fact", 33, 2, 2),
        ]
    );
    assert_eq!(
        table(&fixture("sample.php")),
        [
            ("plain", 3, 1, 0),
            // if, &&, elseif, or, else if, foreach, while, ??, two arms; cognitive: if 1, && 1, elseif 1,
            // or 1, else if 1, foreach 1, while 2, ?? 1, match 1.
            ("Router::route", 8, 11, 10),
            // catch, ternary; cognitive: catch 1, ternary in catch 2.
            ("Router::safe", 28, 3, 3),
        ]
    );
    assert_eq!(
        table(&fixture("sample.lua")),
        [
            // if, and, elseif, or, for, if; cognitive: if 1, and 1, elseif 1, or 1, else 1, for in else
            // 2, if in for 3, goto 1.
            ("M.classify", 3, 7, 11),
            ("fact", 19, 2, 2),
            ("M.each", 26, 2, 1),
        ]
    );
    assert_eq!(
        table(&fixture("sample.sh")),
        [
            ("plain", 3, 1, 0),
            // if, &&, elif, for, if, ||, two non-default case items, while, &&; cognitive: if 1, && 1,
            // elif 1, for 2, if in for 3, || 1, else 1, case 1, while 1, && 1.
            ("deploy", 7, 11, 13),
        ]
    );
}

#[test]
fn syntax_errors_keep_the_functions_that_parse() {
    let src = b"def good(a):\n    if a:\n        return 1\n\ndef broken(:\n    pass\n";
    let result = complexity::analyze(Language::Python, src);
    assert!(!result.syntax_errors.is_empty());
    assert!(result.functions.iter().any(|f| f.name == "good" && f.cyclomatic == 2), "{:?}", result.functions);
}

/// (function name, line).
type FunctionAt = (String, u32);

/// Go's own sources, against values gocyclo and gocognit printed for them (tests/data). Needs the
/// Go 1.19 sources Debian's golang-go installs (ci/setup.sh).
#[test]
fn go_standard_library_matches_reference_tools() {
    let goroot = Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let version = std::fs::read_to_string(Path::new(&goroot).join("VERSION")).unwrap_or_default();
    if !version.starts_with("go1.19.") {
        eprintln!("skipped: the reference values are for Go 1.19's sources; GOROOT {goroot:?} has {version:?}");
        return;
    }
    let reference = include_str!("data/go1.19-reference.tsv");
    let mut expected: HashMap<String, HashMap<FunctionAt, (u32, Option<u32>)>> = HashMap::new();
    for line in reference.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let mut pos = cols[0].rsplitn(3, ':');
        let (_col, line_no, file) = (pos.next().unwrap(), pos.next().unwrap(), pos.next().unwrap());
        expected
            .entry(file.to_string())
            .or_default()
            .insert((cols[1].to_string(), line_no.parse().unwrap()), (cols[2].parse().unwrap(), cols[3].parse().ok()));
    }
    let mut checked = 0;
    for (file, functions) in &expected {
        let src = std::fs::read(Path::new(&goroot).join("src").join(file)).unwrap();
        let ours: HashMap<(String, u32), (u32, u32)> = complexity::analyze(Language::Go, &src)
            .functions
            .into_iter()
            .map(|f| ((f.name, f.line), (f.cyclomatic, f.cognitive)))
            .collect();
        assert_eq!(ours.len(), functions.len(), "{file}: function count");
        for (key, (cyclo, cognitive)) in functions {
            let got = ours.get(key).unwrap_or_else(|| panic!("{file}: {key:?} not found"));
            assert_eq!(got.0, *cyclo, "{file}: {key:?} cyclomatic (gocyclo)");
            if let Some(c) = cognitive {
                assert_eq!(got.1, *c, "{file}: {key:?} cognitive (gocognit)");
            }
            checked += 1;
        }
    }
    assert!(checked > 3000, "{checked}");
}

#[test]
fn suppressions_sit_above_attributes_decorators_and_wrappers_but_not_across_a_gap() {
    let suppressed = |lang: Language, src: &str| -> Vec<(String, bool)> {
        complexity::analyze(lang, src.as_bytes())
            .functions
            .into_iter()
            .map(|f| (f.name, f.suppression.cyclomatic && f.suppression.cognitive))
            .collect()
    };
    let rust = "\
// armtune:allow complexity -- generated
#[inline]
#[allow(dead_code)]
fn attributed() {}

// armtune:allow complexity

fn after_a_gap() {}

impl T {
    fn plain() {}
    /// Docs first.
    // armtune:allow complexity -- a table
    fn in_impl() {}
    fn next_one() {}
}
";
    assert_eq!(
        suppressed(Language::Rust, rust),
        [
            ("attributed".into(), true),
            ("after_a_gap".into(), false),
            ("T::plain".into(), false),
            ("T::in_impl".into(), true),
            ("T::next_one".into(), false),
        ]
    );
    let python = "\
class C:
    # armtune:allow complexity -- dispatch table
    @staticmethod
    @cache
    def decorated(a):
        return a

    def plain(self):  # armtune:allow complexity -- on its line
        return 1
";
    assert_eq!(suppressed(Language::Python, python), [("C.decorated".into(), true), ("C.plain".into(), true)]);
    let cpp = "\
namespace n {
// armtune:allow complexity -- templated
template <typename T>
T twice(T x) { return x + x; }
int other(int x) { return x; }
}
";
    assert_eq!(suppressed(Language::Cpp, cpp), [("n::twice".into(), true), ("n::other".into(), false)]);
}
