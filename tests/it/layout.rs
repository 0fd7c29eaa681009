//! The crate's layering: which top-level modules of `src/` import which. A cycle between two of
//! them means neither can be understood, tested or replaced alone; this test keeps new ones out.
//! `KNOWN` lists imports that close a cycle and are still to be removed (none today); with them
//! left out the graph must have no cycle, and each must still close one, so the list stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Imports (from, to) that close a cycle today, and why.
const KNOWN: &[(&str, &str, &str)] = &[];

/// Every `.rs` file below `src/`: (path relative to `src/` with `/`, its text).
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

/// Top-level module → the top-level modules it names (`crate::x`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in sources() {
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        if ["main", "lib", "cli"].contains(&top.as_str()) {
            continue; // the binary and the crate root sit above everything
        }
        let deps = out.entry(top.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && name != top {
                deps.insert(name);
            }
        }
    }
    out
}

/// Whether `to` reaches `from` (so the import from → to closes a cycle).
fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![to.to_string()];
    while let Some(m) = todo.pop() {
        if m == from {
            return true;
        }
        for d in g.get(&m).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    false
}

#[test]
fn top_level_modules_import_each_other_without_new_cycles() {
    let mut g = graph();
    assert!(g.len() > 10, "read the modules: {g:?}");
    for (from, to, why) in KNOWN {
        assert!(
            g.get(*from).is_some_and(|d| d.contains(*to)) && reaches(&g, from, to),
            "{from} -> {to} no longer closes a cycle ({why}): take it out of KNOWN"
        );
    }
    for (from, to, _) in KNOWN {
        g.get_mut(*from).unwrap().remove(*to);
    }
    let closing: Vec<(String, String)> = g
        .iter()
        .flat_map(|(a, deps)| deps.iter().map(move |b| (a.clone(), b.clone())))
        .filter(|(a, b)| reaches(&g, a, b))
        .collect();
    assert!(closing.is_empty(), "imports that close a cycle between top-level modules: {closing:?}\n{g:#?}");
}

/// Where a vendor may be named in code: its own folders, the registries that list the vendors,
/// and the files of the tables and DDL they own. Everywhere else the code is vendor-neutral
/// (comments and docs may name them).
const VENDOR_PLACES: &[&str] = &[
    "sources/liveagent/",
    "sources/livezilla/",
    "sources/liveforce/",
    "simulator/liveagent/",
    "simulator/livezilla/",
    "simulator/liveforce/",
    "sources/mod.rs",
    "simulator/mod.rs",
    "model/tables/",
    "warehouse/migrate.rs",
];

/// Files outside those places that still name a vendor in code, and why (to be removed).
const KNOWN_VENDOR_NAMES: &[(&str, &str)] = &[];

/// Code lines of `text` (comments and `#[cfg(test)]` modules left out) that name a vendor.
fn vendor_lines(text: &str) -> Vec<String> {
    let names = ["liveagent", "livezilla", "liveforce", "perfex"];
    text.lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| names.iter().any(|n| l.to_ascii_lowercase().contains(n)))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn only_vendor_folders_registries_and_table_files_name_a_vendor() {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (rel, text) in sources() {
        if VENDOR_PLACES.iter().any(|p| rel.starts_with(p)) {
            continue;
        }
        let lines = vendor_lines(&text);
        if !lines.is_empty() {
            found.insert(rel, lines);
        }
    }
    for (file, why) in KNOWN_VENDOR_NAMES {
        assert!(
            found.remove(*file).is_some(),
            "{file} no longer names a vendor ({why}): take it out of KNOWN_VENDOR_NAMES"
        );
    }
    assert!(found.is_empty(), "vendor names outside the vendors' folders and the registries: {found:#?}");
}
