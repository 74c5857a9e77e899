//! Which language a file is written in, and its tree-sitter grammar.

use std::path::Path;

use tree_sitter_language::LanguageFn;

/// A language the complexity check understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Go (`.go`).
    Go,
    /// Rust (`.rs`).
    Rust,
    /// C (`.c`, `.h`).
    C,
    /// C++ (`.cc`, `.cpp`, `.cxx`, `.hpp`, `.hh`, `.hxx`).
    Cpp,
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Java (`.java`).
    Java,
    /// C# (`.cs`).
    CSharp,
    /// Ruby (`.rb`, `.rake`, `.gemspec`).
    Ruby,
    /// PHP (`.php`).
    Php,
    /// Lua (`.lua`).
    Lua,
    /// Shell: bash and POSIX sh (`.sh`, `.bash`).
    Shell,
    /// Kotlin (`.kt`, `.kts`).
    Kotlin,
    /// Swift (`.swift`).
    Swift,
    /// Scala (`.scala`, `.sc`).
    Scala,
}

impl Language {
    /// Every language, in the order of [`Language::index`].
    pub const ALL: [Language; 17] = [
        Language::Go,
        Language::Rust,
        Language::C,
        Language::Cpp,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Java,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
        Language::Lua,
        Language::Shell,
        Language::Kotlin,
        Language::Swift,
        Language::Scala,
    ];

    /// Its position in [`Language::ALL`] (tables per language are indexed by it).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What the gate knows of a language: its name in reports, its file extensions, its grammar.
struct Spec {
    name: &'static str,
    extensions: &'static [&'static str],
    grammar: LanguageFn,
}

const fn spec(name: &'static str, extensions: &'static [&'static str], grammar: LanguageFn) -> Spec {
    Spec { name, extensions, grammar }
}

/// One per language, in the order of [`Language::ALL`].
const SPECS: [Spec; Language::ALL.len()] = [
    spec("Go", &["go"], tree_sitter_go::LANGUAGE),
    spec("Rust", &["rs"], tree_sitter_rust::LANGUAGE),
    spec("C", &["c", "h"], tree_sitter_c::LANGUAGE),
    spec("C++", &["cc", "cpp", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp"], tree_sitter_cpp::LANGUAGE),
    spec("Python", &["py", "pyi"], tree_sitter_python::LANGUAGE),
    spec("JavaScript", &["js", "mjs", "cjs", "jsx"], tree_sitter_javascript::LANGUAGE),
    spec("TypeScript", &["ts", "mts", "cts"], tree_sitter_typescript::LANGUAGE_TYPESCRIPT),
    spec("TypeScript", &["tsx"], tree_sitter_typescript::LANGUAGE_TSX),
    spec("Java", &["java"], tree_sitter_java::LANGUAGE),
    spec("C#", &["cs"], tree_sitter_c_sharp::LANGUAGE),
    spec("Ruby", &["rb", "rake", "gemspec"], tree_sitter_ruby::LANGUAGE),
    // PHP files start in HTML: the grammar with the text around `<?php` tags.
    spec("PHP", &["php"], tree_sitter_php::LANGUAGE_PHP),
    spec("Lua", &["lua"], tree_sitter_lua::LANGUAGE),
    spec("shell", &["sh", "bash"], tree_sitter_bash::LANGUAGE),
    spec("Kotlin", &["kt", "kts"], tree_sitter_kotlin_ng::LANGUAGE),
    spec("Swift", &["swift"], tree_sitter_swift::LANGUAGE),
    spec("Scala", &["scala", "sc"], tree_sitter_scala::LANGUAGE),
];

impl Language {
    /// The language of `path`, by its extension.
    pub fn of(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?;
        let i = SPECS.iter().position(|s| s.extensions.contains(&ext))?;
        Some(Language::ALL[i])
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        SPECS[self.index()].grammar.into()
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        SPECS[self.index()].name
    }
}

/// Preprocessor directives of C and C++ (C23's `elifdef`, `embed`; GCC's `ident`, `sccs`,
/// `assert`, `include_next`, `import`).
const C_DIRECTIVES: &[&str] = &[
    "define",
    "undef",
    "include",
    "include_next",
    "import",
    "embed",
    "if",
    "ifdef",
    "ifndef",
    "elif",
    "elifdef",
    "elifndef",
    "else",
    "endif",
    "line",
    "error",
    "warning",
    "pragma",
    "ident",
    "sccs",
    "assert",
    "unassert",
];

/// Preprocessor directives of C# (`r` and `load` are C# scripts' references).
const CSHARP_DIRECTIVES: &[&str] = &[
    "if",
    "elif",
    "else",
    "endif",
    "define",
    "undef",
    "line",
    "error",
    "warning",
    "region",
    "endregion",
    "pragma",
    "nullable",
    "r",
    "load",
];

impl Language {
    /// Why `text` cannot be a file in this language although its name says so, or `None`.
    ///
    /// Some extensions are shared with other formats, as GitHub's linguist knows: capstone's
    /// assembler test vectors are `*.s.cs` (`# CS_ARCH_ARM, ...` then `0x.. = mnemonic` lines), Qt's
    /// translation files are XML named `*.ts`. Parsed as C# or TypeScript, such a file is all
    /// syntax errors, and tree-sitter's error recovery on it costs about fifty times a real
    /// file's parse. Only the first non-blank line is looked at, where no comment or string can
    /// have started: a C-family file's `#` there must be a directive, a TypeScript file does not
    /// open with an XML declaration.
    pub fn foreign(self, text: &[u8]) -> Option<&'static str> {
        let first = text.split(|&b| b == b'\n').map(|line| line.trim_ascii()).find(|line| !line.is_empty())?;
        let first = first.strip_prefix(b"\xef\xbb\xbf").unwrap_or(first);
        match self {
            Language::C | Language::Cpp | Language::CSharp => {
                let rest = first.strip_prefix(b"#")?.trim_ascii_start();
                let word_len = rest.iter().position(|b| !b.is_ascii_alphanumeric() && *b != b'_').unwrap_or(rest.len());
                let word = &rest[..word_len];
                let directives = if self == Language::CSharp { CSHARP_DIRECTIVES } else { C_DIRECTIVES };
                let ok = word.is_empty() && (rest.is_empty() || rest[0] == b'!')
                    || directives.iter().any(|d| d.as_bytes() == word)
                    // `# 12 "file.c"`: a line marker, as cpp writes them and C compilers take.
                    || (self != Language::CSharp && word.iter().all(u8::is_ascii_digit));
                (!ok).then_some("its first line starts with `#` but is not a preprocessor directive")
            }
            Language::TypeScript => (first.starts_with(b"<?xml") || first.starts_with(b"<!DOCTYPE TS"))
                .then_some("it is XML (a Qt translation file?)"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension() {
        assert_eq!(Language::of(Path::new("a/b.go")), Some(Language::Go));
        assert_eq!(Language::of(Path::new("x.hpp")), Some(Language::Cpp));
        assert_eq!(Language::of(Path::new("x.tsx")), Some(Language::Tsx));
        assert_eq!(Language::of(Path::new("A.java")), Some(Language::Java));
        assert_eq!(Language::of(Path::new("deploy.sh")), Some(Language::Shell));
        assert_eq!(Language::of(Path::new("Main.kt")), Some(Language::Kotlin));
        assert_eq!(Language::of(Path::new("App.swift")), Some(Language::Swift));
        assert_eq!(Language::of(Path::new("build.sc")), Some(Language::Scala));
        assert_eq!(
            (Language::Cpp.name(), Language::Tsx.name(), Language::Scala.name()),
            ("C++", "TypeScript", "Scala")
        );
        assert_eq!(Language::of(Path::new("Makefile")), None);
        assert_eq!(Language::of(Path::new("x.txt")), None);
    }

    #[test]
    fn text_in_another_format_under_a_shared_extension_is_told_apart() {
        let foreign = |lang: Language, text: &str| lang.foreign(text.as_bytes()).is_some();
        // capstone's assembler test vectors (suite/MC/*/*.s.cs).
        assert!(foreign(Language::CSharp, "# CS_ARCH_PPC, CS_MODE_BIG_ENDIAN, None\n0xc0,0x44 = lfs 2, 128(4)\n"));
        assert!(foreign(Language::C, "\n  # not a directive\nint x;\n"));
        assert!(foreign(
            Language::TypeScript,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE TS>\n<TS version=\"2.1\">"
        ));
        // Real sources, whatever their first line.
        for (lang, text) in [
            (Language::CSharp, "#region License\n// MIT\n#endregion\nusing System;"),
            (Language::CSharp, "\u{feff}#nullable enable\nnamespace A;"),
            (Language::CSharp, "#!/usr/bin/env dotnet-script\n#r \"nuget: X, 1.0\"\n"),
            (Language::CSharp, "using System;\n#if DEBUG\n#endif\n"),
            (Language::C, "#include <stdio.h>\nint main(void) { return 0; }\n"),
            (Language::C, "# 1 \"x.c\"\nint x;\n"),
            (Language::C, "#\n#  define X 1\n"),
            (Language::Cpp, "#pragma once\nclass A {};\n"),
            (Language::C, "/* # not a directive */\nint x;\n"),
            (Language::TypeScript, "import { a } from \"./a\";\nconst b = <T>(x: T) => x;\n"),
            (Language::Python, "# a comment\nx = 1\n"),
            (Language::CSharp, ""),
        ] {
            assert_eq!(lang.foreign(text.as_bytes()), None, "{lang:?}: {text:?}");
        }
    }

    #[test]
    fn every_grammar_loads() {
        for (i, lang) in Language::ALL.into_iter().enumerate() {
            assert_eq!(lang.index(), i);
            crate::complexity::new_parser(lang).unwrap_or_else(|e| panic!("{lang:?}: {e}"));
        }
    }
}
