//! The app's module graph, read from its source: which file module names
//! which (`use` trees and paths in code, resolved through `crate::`,
//! `super::`, `self::` and child modules), and the cycles in it. A unit test
//! holds `app/src` to none, so a chapter's folder depends on the shell and
//! never the other way round.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Module path (`crate::shell::lang`) → the modules it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The graph of the crate whose root is `src/lib.rs`. `main.rs` (the
/// binary) is left out; inline modules (`mod tests { … }`) count as their
/// file's.
pub fn module_graph(src: &Path) -> Result<Graph, String> {
    let mut files = Vec::new();
    collect_rs(src, &mut files)?;
    let mut modules = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(src).map_err(|e| e.to_string())?;
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let name = match parts.as_slice() {
            [only] if only == "main.rs" => continue,
            [only] if only == "lib.rs" => "crate".to_string(),
            _ => {
                let mut segs = parts.clone();
                let last = segs.pop().unwrap();
                if last != "mod.rs" {
                    segs.push(last.trim_end_matches(".rs").to_string());
                }
                format!("crate::{}", segs.join("::"))
            }
        };
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        modules.insert(name, text);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph = Graph::new();
    for (name, text) in &modules {
        let here: Vec<&str> = name.split("::").collect();
        let mut targets = BTreeSet::new();
        for (path, inline_depth) in paths_in(&tokens(text)) {
            let Some(full) = resolve(&here, &path, inline_depth, &names) else {
                continue;
            };
            // The longest prefix that is a file module is the one named.
            let target = (1..=full.len())
                .rev()
                .map(|k| full[..k].join("::"))
                .find(|c| names.contains(c));
            if let Some(target) = target {
                if target != *name && target != "crate" {
                    targets.insert(target);
                }
            }
        }
        graph.insert(name.clone(), targets);
    }
    Ok(graph)
}

/// Strongly connected components with more than one module: the cycles.
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm, iterative over a stack of (node, next edge).
    let nodes: Vec<&String> = graph.keys().collect();
    let id = |n: &String| nodes.iter().position(|m| *m == n);
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| graph[*n].iter().filter_map(id).collect())
        .collect();
    let (mut index, mut low) = (vec![usize::MAX; nodes.len()], vec![0; nodes.len()]);
    let (mut on_stack, mut stack, mut found) = (vec![false; nodes.len()], Vec::new(), Vec::new());
    let mut counter = 0;
    for start in 0..nodes.len() {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut next)) = work.last_mut() {
            if *next == 0 && index[v] == usize::MAX {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*next) {
                *next += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(nodes[w].clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    found.push(component);
                }
            }
        }
    }
    found
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Colons,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// Rust source as the tokens paths are made of; comments, strings and
/// character literals are dropped.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && !prev_is_ident(&chars, i)
        {
            // r"…" or r#"…"#: ends at a quote followed by as many #s.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(Token::Ident("r".into()));
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push(Token::Other);
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Other);
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
            out.push(Token::Other);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            i += 1;
            out.push(match c {
                ':' if next == Some(':') => {
                    i += 1;
                    Token::Colons
                }
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                ';' => Token::Semi,
                c if c.is_whitespace() => continue,
                _ => Token::Other,
            });
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Every path in the tokens (`use` trees flattened), with how many inline
/// modules enclose it.
fn paths_in(tokens: &[Token]) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    // The brace depth at which each enclosing inline `mod x {` opened.
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Ident(word) if word == "use" => {
                let end = (i..tokens.len())
                    .find(|&k| tokens[k] == Token::Semi)
                    .unwrap_or(tokens.len());
                for path in use_tree(&tokens[i + 1..end], &[]) {
                    out.push((path, inline_mods.len()));
                }
                i = end + 1;
                continue;
            }
            Token::Ident(word)
                if word == "mod"
                    && matches!(tokens.get(i + 1), Some(Token::Ident(_)))
                    && tokens.get(i + 2) == Some(&Token::Open) =>
            {
                depth += 1;
                inline_mods.push(depth);
                i += 3;
                continue;
            }
            Token::Ident(first) if tokens.get(i + 1) == Some(&Token::Colons) => {
                let mut path = vec![first.clone()];
                let mut k = i + 1;
                while tokens.get(k) == Some(&Token::Colons) {
                    match tokens.get(k + 1) {
                        Some(Token::Ident(seg)) => {
                            path.push(seg.clone());
                            k += 2;
                        }
                        _ => break,
                    }
                }
                out.push((path, inline_mods.len()));
                i = k;
                continue;
            }
            Token::Open => depth += 1,
            Token::Close => {
                if inline_mods.last() == Some(&depth) {
                    inline_mods.pop();
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// A `use` tree's paths: `a::{b, c::{d}}` → a::b, a::c::d.
fn use_tree(tokens: &[Token], prefix: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut path = prefix.to_vec();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Ident(word) if word == "as" => i += 1, // the alias follows
            Token::Ident(seg) => path.push(seg.clone()),
            Token::Open => {
                let mut depth = 0;
                let mut k = i;
                let mut start = i + 1;
                while k < tokens.len() {
                    match tokens[k] {
                        Token::Open => depth += 1,
                        Token::Close => {
                            depth -= 1;
                            if depth == 0 {
                                out.extend(use_tree(&tokens[start..k], &path));
                                break;
                            }
                        }
                        Token::Comma if depth == 1 => {
                            out.extend(use_tree(&tokens[start..k], &path));
                            start = k + 1;
                        }
                        _ => {}
                    }
                    k += 1;
                }
                return out;
            }
            _ => {}
        }
        i += 1;
    }
    if path.len() > prefix.len() {
        out.push(path);
    }
    out
}

/// `path` as written in module `here` → an absolute path, or `None` when
/// it names nothing in the crate (std, other crates, locals).
fn resolve(
    here: &[&str],
    path: &[String],
    inline_depth: usize,
    modules: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = here.iter().map(|s| s.to_string()).collect();
    let mut rest = path;
    let mut skip = inline_depth;
    match rest.first()?.as_str() {
        "crate" => return Some(path.to_vec()),
        "self" => rest = &rest[1..],
        "super" => {
            while rest.first().is_some_and(|s| s == "super") {
                if skip > 0 {
                    skip -= 1; // `super` out of an inline module is the file's
                } else {
                    base.pop();
                }
                rest = &rest[1..];
            }
        }
        child => {
            // A child module of this one, named without `self::`.
            let candidate = format!("{}::{child}", here.join("::"));
            if !modules.contains(&candidate) {
                return None;
            }
        }
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    /// The check follows `use` trees, `super::` and paths in code, skips
    /// comments and strings, and does not count a test module's
    /// `use super::*`; then finds the cycle one more import makes.
    #[test]
    fn cycles_are_found_and_tests_do_not_make_them() {
        let dir = std::env::temp_dir().join(format!("glassbox-modules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write(
            &dir,
            &[
                ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
                (
                    "a/mod.rs",
                    "pub mod x;\nuse crate::{b::{self, Thing}, c};\n// crate::c::Never\n",
                ),
                (
                    "a/x.rs",
                    "fn f() { let s = \"crate::b::No\"; super::super::c::g(); }",
                ),
                (
                    "b.rs",
                    "use crate::a::x::Y;\n#[cfg(test)]\nmod tests { use super::*; }",
                ),
                ("c.rs", "#[cfg(test)]\nmod tests { use super::*; }"),
            ],
        );
        let graph = module_graph(&dir).unwrap();
        assert_eq!(
            graph["crate::a"],
            BTreeSet::from(["crate::b".to_string(), "crate::c".to_string()])
        );
        assert_eq!(
            graph["crate::a::x"],
            BTreeSet::from(["crate::c".to_string()])
        );
        assert_eq!(
            graph["crate::b"],
            BTreeSet::from(["crate::a::x".to_string()])
        );
        assert!(graph["crate::c"].is_empty());
        assert!(cycles(&graph).is_empty(), "{:?}", cycles(&graph));
        write(&dir, &[("c.rs", "use crate::a::Thing;")]);
        let graph = module_graph(&dir).unwrap();
        assert_eq!(
            cycles(&graph),
            vec![["crate::a", "crate::a::x", "crate::b", "crate::c"]
                .map(String::from)
                .to_vec()]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn app_modules_have_no_import_cycles() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
        let graph = module_graph(&src).unwrap();
        assert!(graph.len() > 60, "only {} modules", graph.len());
        assert!(graph.contains_key("crate::shell::lang"));
        assert_eq!(cycles(&graph), Vec::<Vec<String>>::new());
        // The shell names the registry, never a chapter.
        for (module, names) in &graph {
            if module.starts_with("crate::shell") {
                let chapter = names.iter().find(|n| n.starts_with("crate::chapters::"));
                assert_eq!(chapter, None, "{module} names a chapter");
            }
        }
    }
}
