//! The structure `docs/architecture.md` describes, checked: no import cycle between the modules of
//! any crate, the offline code of the root crate never names the socket crates, and the model crate
//! depends on no async runtime, resolver, HTTP or TLS library.
//!
//! The cycle rule works on the module tree: at every level, the sibling subtrees (the files and
//! folders of one folder) must import each other without a cycle. A `mod.rs` is its folder's face,
//! so a parent and its own children may use each other; `a::x` → `b::y` → `a::z` is a cycle between
//! `a` and `b` however deep it starts. Imports are read with `syn`: every `use` and every qualified
//! path starting with `crate`, `super`, `self` or a child module's name, outside `#[cfg(test)]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use syn::visit::Visit;

/// A module inside one crate, as its path segments; the crate root is empty.
type Module = Vec<String>;
/// Which modules each module refers to (itself excluded).
type Graph = BTreeMap<Module, BTreeSet<Module>>;

/// The library sources of every crate of the workspace, by directory.
const CRATE_SOURCES: [&str; 4] = ["src", "model/src", "checks/src", "lab/src"];

/// Root-crate modules allowed to name `mxdoctor_checks` or `mxdoctor_lab`: the live commands and
/// what they hand to the probes. Everything else (diagnosis, playbooks, reports, queue, explain,
/// triage) builds on `mxdoctor_model` alone.
const MAY_USE_SOCKETS: [&str; 7] = [
    "bundle",
    "progress_ui",
    "commands::check",
    "commands::demo",
    "commands::fleet",
    "commands::probe",
    "commands::serve",
];

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_string()
    } else {
        module.join("::")
    }
}

/// The module a source file defines: `a/b.rs` and `a/b/mod.rs` are `a::b`, `lib.rs` is the root.
fn module_of(relative: &Path) -> Module {
    let mut segments: Module = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segments.pop();
    }
    segments
}

/// Every `.rs` file under `dir` but the binary's `main.rs`, with its module and text.
fn read_sources(dir: &Path) -> Vec<(Module, String)> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(dir).expect("under dir").to_path_buf();
            if relative == Path::new("main.rs") {
                return None;
            }
            let text = std::fs::read_to_string(&path).expect("source file is UTF-8");
            Some((module_of(&relative), text))
        })
        .collect()
}

fn is_test_only(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        attribute.path().is_ident("cfg")
            && attribute
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// Collects the paths one file names, as written (`crate::a::B`, `super::c`, `d::e`).
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
}

impl PathCollector {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let mut full = prefix.clone();
                full.push(name.ident.to_string());
                self.paths.push(full);
            }
            syn::UseTree::Rename(rename) => {
                let mut full = prefix.clone();
                full.push(rename.ident.to_string());
                self.paths.push(full);
            }
            syn::UseTree::Glob(_) => self.paths.push(prefix.clone()),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attributes = match item {
            syn::Item::Mod(module) => &module.attrs,
            syn::Item::Fn(function) => &function.attrs,
            syn::Item::Use(declaration) => &declaration.attrs,
            syn::Item::Impl(block) => &block.attrs,
            syn::Item::Const(constant) => &constant.attrs,
            syn::Item::Struct(structure) => &structure.attrs,
            syn::Item::Enum(enumeration) => &enumeration.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_test_only(attributes) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, declaration: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &declaration.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 {
            self.paths
                .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }
}

/// The paths `text` names outside test code.
fn named_paths(text: &str) -> Result<Vec<Vec<String>>, syn::Error> {
    let file = syn::parse_file(text)?;
    let mut collector = PathCollector::default();
    collector.visit_file(&file);
    Ok(collector.paths)
}

/// The module `path` (named inside `from`) refers to: the longest known module prefix of its
/// absolute form; `None` for other crates and the standard library.
fn resolve(path: &[String], from: &Module, known: &BTreeSet<Module>) -> Option<Module> {
    let first = path.first()?;
    let absolute: Vec<String> = match first.as_str() {
        "crate" => path[1..].to_vec(),
        "self" => from.iter().chain(&path[1..]).cloned().collect(),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let base = &from[..from.len().checked_sub(ups)?];
            base.iter().chain(&path[ups..]).cloned().collect()
        }
        child => {
            let mut candidate = from.clone();
            candidate.push(child.to_string());
            if !known.contains(&candidate) {
                return None;
            }
            from.iter().chain(path).cloned().collect()
        }
    };
    (0..=absolute.len())
        .rev()
        .map(|length| absolute[..length].to_vec())
        .find(|prefix| known.contains(prefix))
}

/// The import graph of one crate's sources.
fn import_graph(sources: &[(Module, String)]) -> Result<Graph, String> {
    let known: BTreeSet<Module> = sources.iter().map(|(module, _)| module.clone()).collect();
    let mut graph = Graph::new();
    for (module, text) in sources {
        let paths = named_paths(text).map_err(|e| format!("{}: {e}", name(module)))?;
        let targets = graph.entry(module.clone()).or_default();
        for path in paths {
            if let Some(target) = resolve(&path, module, &known) {
                if &target != module {
                    targets.insert(target);
                }
            }
        }
    }
    Ok(graph)
}

/// Each cycle between sibling subtrees, as `a -> b -> a` under the folder that holds them.
fn sibling_cycles(graph: &Graph) -> Vec<String> {
    let mut cycles = Vec::new();
    let parents: BTreeSet<Module> = graph
        .keys()
        .filter(|module| !module.is_empty())
        .map(|module| module[..module.len() - 1].to_vec())
        .collect();
    for parent in parents {
        let depth = parent.len();
        // The child of `parent` whose subtree holds `module`, if any.
        let child_of = |module: &Module| {
            (module.len() > depth && module[..depth] == parent[..]).then(|| module[depth].clone())
        };
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, targets) in graph {
            let Some(source) = child_of(from) else {
                continue;
            };
            for target in targets.iter().filter_map(child_of) {
                if target != source {
                    edges.entry(source.clone()).or_default().insert(target);
                }
            }
        }
        for cycle in find_cycles(&edges) {
            cycles.push(format!("under {}: {}", name(&parent), cycle.join(" -> ")));
        }
    }
    cycles
}

/// One cycle per strongly connected group of `edges`, written as a closed walk (`a -> b -> a`).
fn find_cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut cycles = Vec::new();
    for start in edges.keys() {
        if reported.contains(start) {
            continue;
        }
        // Breadth-first from `start` back to `start`: the shortest cycle through it.
        let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closed_by = None;
        while let Some(node) = queue.pop_front() {
            for next in edges.get(node).into_iter().flatten() {
                if next == start {
                    closed_by = Some(node);
                    break;
                }
                if !previous.contains_key(next) {
                    previous.insert(next, node);
                    queue.push_back(next);
                }
            }
            if closed_by.is_some() {
                break;
            }
        }
        if let Some(last) = closed_by {
            let mut walk = vec![last.clone()];
            let mut node = last;
            while node != start {
                node = previous[node];
                walk.push(node.clone());
            }
            walk.reverse();
            walk.push(start.clone());
            reported.extend(walk.iter().cloned());
            cycles.push(walk);
        }
    }
    cycles
}

fn workspace_graph(crate_dir: &str) -> Graph {
    let sources = read_sources(&workspace_root().join(crate_dir));
    assert!(!sources.is_empty(), "{crate_dir} has no sources");
    import_graph(&sources).unwrap_or_else(|error| panic!("{crate_dir}: {error}"))
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut cycles = Vec::new();
    for crate_dir in CRATE_SOURCES {
        let graph = workspace_graph(crate_dir);
        cycles.extend(
            sibling_cycles(&graph)
                .into_iter()
                .map(|cycle| format!("{crate_dir}: {cycle}")),
        );
    }
    assert!(
        cycles.is_empty(),
        "import cycles (see docs/architecture.md):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_vocabulary_imports_nothing_of_the_crate() {
    let graph = workspace_graph("src");
    let vocabulary = vec!["vocabulary".to_string()];
    let imports = graph.get(&vocabulary).expect("src/vocabulary.rs exists");
    assert!(imports.is_empty(), "vocabulary imports {imports:?}");
}

#[test]
fn only_live_commands_name_the_socket_crates() {
    let sources = read_sources(&workspace_root().join("src"));
    let mut offenders = Vec::new();
    for (module, text) in &sources {
        if MAY_USE_SOCKETS.contains(&name(module).as_str()) {
            continue;
        }
        let paths = named_paths(text).expect("source parses");
        if let Some(path) = paths
            .iter()
            .find(|path| matches!(path[0].as_str(), "mxdoctor_checks" | "mxdoctor_lab"))
        {
            offenders.push(format!("{} names {}", name(module), path.join("::")));
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// The paths of the `pub use` declarations of `text`, at any depth (test code included).
fn public_reexports(text: &str) -> Vec<Vec<String>> {
    #[derive(Default)]
    struct Reexports(PathCollector);
    impl<'ast> Visit<'ast> for Reexports {
        fn visit_item_use(&mut self, declaration: &'ast syn::ItemUse) {
            if matches!(declaration.vis, syn::Visibility::Public(_)) {
                self.0.use_tree(&mut Vec::new(), &declaration.tree);
            }
        }
    }
    let file = syn::parse_file(text).expect("source parses");
    let mut reexports = Reexports::default();
    reexports.visit_file(&file);
    reexports.0.paths
}

#[test]
fn types_are_named_at_their_home_not_through_re_exports() {
    // The vocabulary is imported from `vocabulary`, the model from `mxdoctor_model`: a `pub use`
    // that gives them a second path elsewhere is a compatibility alias, and aliases drift.
    let mut offenders = Vec::new();
    for crate_dir in CRATE_SOURCES {
        for (module, text) in read_sources(&workspace_root().join(crate_dir)) {
            for path in public_reexports(&text) {
                let aliased = path
                    .first()
                    .is_some_and(|first| first.starts_with("mxdoctor_"))
                    || path.starts_with(&["crate".to_string(), "vocabulary".to_string()]);
                if aliased {
                    offenders.push(format!(
                        "{crate_dir}: {} re-exports {}",
                        name(&module),
                        path.join("::")
                    ));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn a_re_export_of_the_model_or_the_vocabulary_is_found() {
    let text = "pub use mxdoctor_model::{Data, Observation};\n\
                mod inner { pub use crate::vocabulary::Status; }\n\
                pub use child::Thing;\nuse mxdoctor_model::Reply;\n";
    assert_eq!(
        public_reexports(text),
        [
            vec!["mxdoctor_model", "Data"],
            vec!["mxdoctor_model", "Observation"],
            vec!["crate", "vocabulary", "Status"],
            vec!["child", "Thing"],
        ]
    );
}

#[test]
fn the_model_crate_needs_no_runtime_resolver_http_or_tls() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--package",
            "mxdoctor-model",
            "--edges",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && tree.contains("mxdoctor-model"),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let forbidden: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let package = line.split_whitespace().next().unwrap_or("");
            ["tokio", "hickory", "reqwest", "openssl", "native-tls"]
                .iter()
                .any(|banned| package.starts_with(banned))
        })
        .collect();
    assert!(
        forbidden.is_empty(),
        "mxdoctor-model depends on {forbidden:?}"
    );
}

// The checker itself, on small synthetic crates: it must see a cycle where there is one.

fn synthetic(files: &[(&str, &str)]) -> Graph {
    let sources: Vec<(Module, String)> = files
        .iter()
        .map(|(path, text)| (module_of(Path::new(path)), (*text).to_string()))
        .collect();
    import_graph(&sources).expect("synthetic sources parse")
}

#[test]
fn a_two_module_cycle_is_found() {
    let graph = synthetic(&[
        ("lib.rs", "pub mod a; pub mod b;"),
        ("a.rs", "use crate::b::Thing; pub struct Other;"),
        (
            "b.rs",
            "pub struct Thing; pub fn f() -> crate::a::Other { todo!() }",
        ),
    ]);
    assert_eq!(sibling_cycles(&graph), ["under crate: a -> b -> a"]);
}

#[test]
fn a_cycle_through_nested_folders_and_super_is_found() {
    let graph = synthetic(&[
        ("lib.rs", "pub mod report; pub mod finding;"),
        ("report/mod.rs", "pub mod baseline;"),
        ("report/baseline.rs", "use super::super::finding::Finding;"),
        (
            "finding.rs",
            "pub struct Finding { state: crate::report::baseline::State }",
        ),
    ]);
    assert_eq!(
        sibling_cycles(&graph),
        ["under crate: finding -> report -> finding"]
    );
}

#[test]
fn a_three_module_cycle_among_siblings_is_found() {
    let graph = synthetic(&[
        (
            "smtp/mod.rs",
            "pub mod client; pub mod session; pub mod test_message;",
        ),
        ("smtp/client.rs", "use crate::smtp::test_message::Permit;"),
        ("smtp/session.rs", "use super::client::Session;"),
        ("smtp/test_message.rs", "use super::{session::Attempt};"),
    ]);
    assert_eq!(
        sibling_cycles(&graph),
        ["under smtp: client -> test_message -> session -> client"]
    );
}

#[test]
fn a_parent_and_its_children_and_test_code_make_no_cycle() {
    let graph = synthetic(&[
        ("lib.rs", "pub mod report; pub mod finding;"),
        (
            "report/mod.rs",
            "pub mod text; pub struct Report; pub fn render() { text::render() }",
        ),
        (
            "report/text.rs",
            "use super::Report; use crate::finding::Finding; pub fn render() {}",
        ),
        (
            "finding.rs",
            "pub struct Finding; #[cfg(test)] mod tests { use crate::report::Report; }",
        ),
    ]);
    assert_eq!(sibling_cycles(&graph), Vec::<String>::new());
    assert!(
        graph[&vec!["report".to_string()]]
            .contains(&vec!["report".to_string(), "text".to_string()])
    );
}
