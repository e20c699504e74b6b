//! The module graph's direction, checked: every path `crate::<module>::…` in
//! a module's files (its `use` lines and its inline paths alike) must name a
//! module of a lower layer (or the module itself). ARCHITECTURE.md draws the
//! same layers; change both together, and prefer a domain event
//! (`platform::events`) to an arrow pointing up.

/// Lowest first. A module may use the modules of the layers below its own.
pub const LAYERS: &[&[&str]] = &[
    &["entities"],
    &["platform"],
    &[
        "notifications",
        "imports",
        "custom_fields",
        "views",
        "products",
        "teams",
    ],
    &["settings"],
    &["users", "pipelines"],
    &["audit", "ownership"],
    &["customers"],
    &["contacts", "pools"],
    &["leads"],
    &["tasks"],
    &["activities"],
    &["opportunities"],
    &["quotes"],
    &["contracts"],
    &[
        "transfers",
        "reports",
        "profile",
        "home",
        "auth",
        "webhooks",
    ],
    &["app", "demo"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The module names a source text reaches through `crate::…`, with the line.
fn reached(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
        }
        // `use crate::{a::x, b::y}` names several modules at once.
        if let Some(i) = code.find("crate::{") {
            for part in code[i + "crate::{".len()..].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((n + 1, name));
                }
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`.
fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The violations of the layers in the crate's sources, as readable lines.
pub fn violations(src: &std::path::Path) -> Vec<String> {
    let mut all = Vec::new();
    files(src, &mut all);
    let mut bad = Vec::new();
    for path in all {
        let rel = path.strip_prefix(src).unwrap_or(&path);
        let first = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .unwrap_or_default();
        if first == "lib" || first == "main" || first == "architecture" {
            continue;
        }
        let Some(own) = layer_of(&first) else {
            bad.push(format!(
                "{}: module `{first}` is in no layer",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (line, target) in reached(&text) {
            if target == first {
                continue;
            }
            match layer_of(&target) {
                Some(l) if l < own => {}
                Some(_) => bad.push(format!(
                    "{}:{line}: `{first}` uses `{target}`, which is not below it",
                    rel.display()
                )),
                None => bad.push(format!(
                    "{}:{line}: `{target}` is in no layer",
                    rel.display()
                )),
            }
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_only_use_lower_layers() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let bad = violations(&src);
        assert!(
            bad.is_empty(),
            "imports against the module graph's direction (ARCHITECTURE.md):\n{}",
            bad.join("\n")
        );
    }

    #[test]
    fn the_check_sees_an_upward_import() {
        let dir = std::env::temp_dir().join(format!("kehu-arch-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(dir.join("customers")).unwrap();
        std::fs::create_dir_all(dir.join("contracts")).unwrap();
        std::fs::write(
            dir.join("customers/store.rs"),
            "use crate::platform::db;\nfn f() { crate::contracts::store::get(); }\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("contracts/store.rs"),
            "use crate::{customers::store, platform::db};\n",
        )
        .unwrap();
        let bad = violations(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].contains("customers/store.rs:2"), "{bad:?}");
    }
}
