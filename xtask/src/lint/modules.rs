//! The module graph check: inside a crate, no module imports a module that imports it
//! back (directly or through others).
//!
//! A module is a source file (`src/store.rs` is `store`, `src/memo/mod.rs` is `memo`,
//! `src/memo/flight.rs` is `memo::flight`). Module `a` *imports* `b` when `a`'s code names
//! a path into `b` — `use crate::b::X`, `crate::b::f()`, `super::b`, `self::b`, or a
//! child's name (`use b::X` in `b`'s parent). Two things are structure, not imports, and
//! are left out: the crate root (`lib.rs` declares and re-exports everything), and a
//! module re-exporting its own children (`pub use child::X` in `child`'s parent).
//!
//! A rough reader, not a Rust parser: comments and the contents of string literals are
//! dropped, and paths are read from `crate::` / `super::` / `self::` / child-name tokens.
//! Where it is unsure it sees an import, which can only make the check stricter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path inside a crate (`["memo", "flight"]`); the root is empty.
type ModulePath = Vec<String>;

/// The module paths of every `.rs` file under `src` (relative to it), with their text.
pub(crate) fn read_modules(src: &Path) -> BTreeMap<ModulePath, String> {
    let mut files = Vec::new();
    rust_sources(src, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(src).ok()?;
            let mut path: ModulePath = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            let last = path.pop()?;
            let stem = last.strip_suffix(".rs")?;
            if !matches!(stem, "lib" | "main" | "mod") {
                path.push(stem.to_owned());
            }
            // binaries under src/bin are crates of their own
            if path.first().is_some_and(|first| first == "bin") {
                return None;
            }
            Some((path, std::fs::read_to_string(&file).ok()?))
        })
        .collect()
}

/// Every `.rs` file under `dir`, recursively (none if it cannot be read).
pub(crate) fn rust_sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Every import cycle among `modules`, each as `a -> b -> … -> a` (empty when none).
pub(crate) fn import_cycles(modules: &BTreeMap<ModulePath, String>) -> Vec<String> {
    let known: BTreeSet<&ModulePath> = modules.keys().collect();
    let edges: BTreeMap<&ModulePath, BTreeSet<ModulePath>> = modules
        .iter()
        .filter(|(module, _)| !module.is_empty())
        .map(|(module, text)| (module, imports(module, text, &known)))
        .collect();
    let mut cycles = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![((*start).clone(), vec![(*start).clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == *start {
                    cycles.insert(canonical_cycle(&trail));
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    cycles.into_iter().collect()
}

/// A cycle written from its smallest module, so each cycle is reported once.
fn canonical_cycle(trail: &[ModulePath]) -> String {
    let names: Vec<String> = trail.iter().map(|module| module.join("::")).collect();
    let first = names
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.cmp(b.1))
        .map_or(0, |(index, _)| index);
    let mut ordered: Vec<&String> = names[first..].iter().chain(&names[..first]).collect();
    ordered.push(ordered[0]);
    ordered
        .iter()
        .map(|name| name.as_str())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// The modules `module` imports (see the module docs), among `known`.
fn imports(module: &ModulePath, text: &str, known: &BTreeSet<&ModulePath>) -> BTreeSet<ModulePath> {
    let code = strip_comments(text);
    let children: Vec<&String> = known
        .iter()
        .filter(|other| other.len() == module.len() + 1 && other.starts_with(module))
        .filter_map(|child| child.last())
        .collect();
    let mut found = BTreeSet::new();
    for statement in statements(&code) {
        let reexport = statement.is_use && statement.text.starts_with("pub");
        for path in paths_in(&statement, &children) {
            let Some(target) = resolve(module, &path, &children) else {
                continue;
            };
            let own_child = target.len() > module.len() && target.starts_with(module);
            if reexport && own_child {
                continue;
            }
            if let Some(target) = longest_known(&target, known)
                && target != *module
                && !target.is_empty()
            {
                found.insert(target);
            }
        }
    }
    found
}

/// `text` without comments (`//` to the end of the line, doc comments included), with
/// string literals emptied (`"…"` becomes `""`), and without its unit tests (a
/// `#[cfg(test)] mod` at the bottom, whose `super` is this module, not its parent).
fn strip_comments(text: &str) -> String {
    let text = test_module_start(text).map_or(text, |at| &text[..at]);
    let mut code = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                code.push_str("\"\"");
                let mut escaped = false;
                for inside in chars.by_ref() {
                    match inside {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            // a character literal holding a quote: `'"'` or `'\''`
            '\'' => {
                code.push(c);
                let mut lookahead = chars.clone();
                let literal = match (lookahead.next(), lookahead.next(), lookahead.next()) {
                    (Some('"'), Some('\''), _) => 2,
                    (Some('\\'), Some(_), Some('\'')) => 3,
                    _ => 0,
                };
                for _ in 0..literal {
                    chars.next();
                }
            }
            _ => code.push(c),
        }
    }
    code
}

/// Where the file's test modules begin: the first `#[cfg(test)]` line followed by a `mod`
/// (tests and test fixtures sit at the bottom of a module, per the house style).
fn test_module_start(text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                let next = next.trim_start();
                ["mod ", "pub mod ", "pub(crate) mod ", "pub(super) mod "]
                    .iter()
                    .any(|prefix| next.starts_with(prefix))
            })
        {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// One piece of code: a whole `use` statement, or a run of code up to a `;`, `{` or `}`.
struct Statement<'a> {
    text: &'a str,
    /// A `use` statement (`use`, `pub use`, `pub(crate) use`, …).
    is_use: bool,
}

/// `code` cut into pieces at `;`, `{` and `}` — except that a `use` statement is kept
/// whole up to its `;` (its braces group paths).
fn statements(code: &str) -> Vec<Statement<'_>> {
    let mut pieces = Vec::new();
    let mut rest = code;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        let offset = rest.len() - trimmed.len();
        let is_use = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix));
        let end = if is_use {
            trimmed.find(';').map_or(trimmed.len(), |at| at + 1)
        } else {
            trimmed
                .find([';', '{', '}'])
                .map_or(trimmed.len(), |at| at + 1)
        };
        pieces.push(Statement {
            text: trimmed[..end].trim(),
            is_use,
        });
        rest = &rest[offset + end..];
    }
    pieces
}

/// The paths a statement names: `crate::…`, `super::…`, `self::…` and relative paths
/// into a child module (`child::X`, in `use` statements and in code), each as segments;
/// braces in `use` expand.
fn paths_in(statement: &Statement<'_>, children: &[&String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    if statement.is_use {
        let text = statement.text;
        let tree = text[text.find("use ").map_or(0, |at| at + 4)..]
            .trim_end_matches(';')
            .trim();
        expand_use_tree(tree, &mut Vec::new(), &mut paths);
        return paths;
    }
    let statement = statement.text;
    let child_anchors: Vec<String> = children.iter().map(|child| format!("{child}::")).collect();
    let anchors = ["crate::", "super::", "self::"]
        .into_iter()
        .chain(child_anchors.iter().map(String::as_str));
    for anchor in anchors {
        let mut from = 0;
        while let Some(found) = statement[from..].find(anchor) {
            let start = from + found;
            let preceded = statement[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':');
            let end = statement[start..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(statement.len(), |len| start + len);
            if !preceded {
                paths.push(segments(&statement[start..end]));
            }
            from = end.max(start + anchor.len());
        }
    }
    paths
}

/// Splits `a::b::c` into its non-empty segments.
fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Expands a `use` tree (`crate::{a::X, b::{Y, Z}}`) into its paths, each prefixed by
/// `prefix`.
fn expand_use_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let mut path = prefix.clone();
        let head = tree.split(" as ").next().unwrap_or(tree);
        path.extend(segments(head));
        out.push(path);
        return;
    };
    let head = segments(&tree[..open]);
    let inner = tree[open + 1..].trim_end().trim_end_matches('}');
    let depth_before = prefix.len();
    prefix.extend(head);
    let mut depth = 0_usize;
    let mut start = 0;
    for (index, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                expand_use_tree(&inner[start..index], prefix, out);
                start = index + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand_use_tree(&inner[start..], prefix, out);
    }
    prefix.truncate(depth_before);
}

/// The absolute module path `path` points into, seen from `module`; `None` for paths
/// outside the crate (`std::…`, other crates).
fn resolve(module: &ModulePath, path: &[String], children: &[&String]) -> Option<ModulePath> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => {
            let mut base = module.clone();
            base.pop();
            let mut rest = rest;
            while let Some((next, tail)) = rest.split_first() {
                if next != "super" {
                    break;
                }
                base.pop();
                rest = tail;
            }
            base.extend(rest.iter().cloned());
            return Some(base);
        }
        name if children.iter().any(|child| *child == name) => {
            let mut base = module.clone();
            base.push(name.to_owned());
            base
        }
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The longest prefix of `path` that is a known module.
fn longest_known(path: &ModulePath, known: &BTreeSet<&ModulePath>) -> Option<ModulePath> {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| known.contains(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(files: &[(&str, &str)]) -> BTreeMap<ModulePath, String> {
        files
            .iter()
            .map(|(path, text)| (segments(path), (*text).to_owned()))
            .collect()
    }

    #[test]
    fn a_module_importing_its_importer_is_a_cycle() {
        let found = import_cycles(&modules(&[
            ("", "mod cache; mod sweeper; pub use cache::Cache;"),
            ("cache", "use crate::sweeper::Sweeper;\npub struct Cache;"),
            ("sweeper", "use crate::cache::Cache; // the cycle\n"),
        ]));
        assert_eq!(found, ["cache -> sweeper -> cache"]);
    }

    #[test]
    fn grouped_inline_and_super_paths_count() {
        let found = import_cycles(&modules(&[
            ("", "mod a; mod b; mod c;"),
            ("a", "use crate::{b::B, c::{C, D as E}};"),
            ("b", "fn f() { let x = super::c::g(); }"),
            ("c", "fn g() -> crate::a::A { todo() }"),
        ]));
        assert_eq!(found, ["a -> b -> c -> a", "a -> c -> a"]);
    }

    #[test]
    fn the_root_and_reexports_of_children_are_structure() {
        let found = import_cycles(&modules(&[
            ("", "mod memo; pub use memo::Memo; use crate::memo::helper;"),
            (
                "memo",
                "mod flight;\npub use flight::Flight;\npub fn key() {}",
            ),
            ("memo::flight", "use super::key;\nuse crate::Thing;"),
        ]));
        assert!(found.is_empty(), "{found:?}");
        // but a parent *using* its child's items while the child uses the parent is one
        let found = import_cycles(&modules(&[
            ("", "mod memo;"),
            ("memo", "mod flight;\nuse flight::Flight;\npub fn key() {}"),
            ("memo::flight", "use super::key;"),
        ]));
        assert_eq!(found, ["memo -> memo::flight -> memo"]);
    }

    #[test]
    fn a_parent_calling_into_its_child_counts() {
        let found = import_cycles(&modules(&[
            ("", "mod bench;"),
            (
                "bench",
                "mod report;\npub const NAMES: &str = \"\";\nfn run() { report::write(); }",
            ),
            ("bench::report", "use super::NAMES;\npub fn write() {}"),
        ]));
        assert_eq!(found, ["bench -> bench::report -> bench"]);
        // `other::report::x` is not this module's child
        let found = import_cycles(&modules(&[
            ("", "mod bench;"),
            ("bench", "mod report;\nfn run() { other::report::write(); }"),
            ("bench::report", "use super::NAMES;"),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn test_modules_and_fixtures_do_not_count() {
        let found = import_cycles(&modules(&[
            ("", "mod bench;"),
            ("bench", "mod report;\nuse report::Row;"),
            (
                "bench::report",
                "pub struct Row;\n#[cfg(test)]\npub(crate) mod fixtures {\n    use super::*;\n    use crate::bench::X;\n}\n",
            ),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn strings_do_not_count() {
        let found = import_cycles(&modules(&[
            ("", "mod a; mod b;"),
            ("a", "use crate::b::B;"),
            (
                "b",
                "const ANCHORS: [&str; 2] = [\"super::\", \"crate::a::\\\"x\"];\nconst Q: char = '\"';\nfn f() -> &'static str { \"a::\" }",
            ),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn comments_and_other_crates_do_not_count() {
        let found = import_cycles(&modules(&[
            ("", "mod a; mod b;"),
            (
                "a",
                "use twat_cache_core::b::X; // crate::b::Y\nuse std::fmt;",
            ),
            ("b", "/// [`crate::a`]\nuse crate::a::A;"),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }
}
