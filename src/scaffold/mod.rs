//! `erasure connector new NAME`: a new Rust connector crate from the template
//! (`connectors/template/`), registered, with its simulator stub. Reads and writes files of the
//! repository it is run in; nothing else.
//!
//! `name.rs`: the kind's names and which are refused. `template.rs`: the embedded template.
//! `register.rs`: the lines added to the root `Cargo.toml` (the kind's one registration line) and
//! `sim/src/lib.rs` (its simulator module).

mod name;
mod register;
mod template;

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// What was written, for the author.
pub struct Scaffolded {
    pub root: PathBuf,
    pub created: Vec<String>,
    pub registered: Vec<String>,
    pub package: String,
}

/// The repository around `start`: the first directory up from it with `src/registry.rs` and the
/// SDK (`connectors/sdk`).
pub fn find_repository(start: &Path) -> anyhow::Result<PathBuf> {
    let start = start.canonicalize().with_context(|| format!("{}", start.display()))?;
    match start.ancestors().find(|dir| dir.join("src/registry.rs").is_file() && dir.join("connectors/sdk").is_dir()) {
        Some(root) => Ok(root.to_path_buf()),
        None => bail!(
            "{} is not inside an erasure-worker repository (no src/registry.rs and connectors/sdk above it)",
            start.display()
        ),
    }
}

/// Write the crate and the simulator stub, then register the kind. Nothing is written when the
/// name is refused or one of the files already exists.
pub fn new_connector(root: &Path, name: &str, known_kinds: &[&str]) -> anyhow::Result<Scaffolded> {
    let names = name::check(name, known_kinds).map_err(anyhow::Error::msg)?;
    for taken in [format!("connectors/{name}"), format!("sim/src/{name}"), format!("sim/src/{name}.rs")] {
        if root.join(&taken).exists() {
            bail!("{taken} already exists: choose another name, or remove it first");
        }
    }
    let edits = [
        ("Cargo.toml", register::cargo_dependency as fn(&str, &name::Names) -> Result<String, String>),
        ("sim/src/lib.rs", register::sim_module),
    ];
    let mut edited = Vec::new();
    for (file, edit) in edits {
        let text = std::fs::read_to_string(root.join(file)).with_context(|| format!("read {file}"))?;
        edited.push((file, edit(&text, &names).map_err(anyhow::Error::msg)?));
    }
    let files = template::render(&names);
    for (path, text) in &files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    }
    for (file, text) in &edited {
        std::fs::write(root.join(file), text).with_context(|| format!("write {file}"))?;
    }
    Ok(Scaffolded {
        root: root.to_path_buf(),
        created: files.into_iter().map(|(path, _)| path).collect(),
        registered: edited.iter().map(|(file, _)| file.to_string()).collect(),
        package: names.package,
    })
}

impl Scaffolded {
    /// What was done and what to do next, for the terminal.
    pub fn report(&self, name: &str) -> String {
        let mut out = format!("created in {}:\n", self.root.display());
        for path in &self.created {
            out += &format!("  {path}\n");
        }
        out += &format!("registered `{name}` in: {}\n\n", self.registered.join(", "));
        out += &format!(
            "next:\n  cargo test -p {package}   # the conformance kit: fails with \"not implemented\" until you write it\n  \
             then connectors/{name}/src/erasure.rs and api.rs, the simulator in sim/src/{name}/ (citing {name}'s \
             documentation), and connectors/{name}/README.md; the guide is connectors/README.md\n",
            package = self.package
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with just what the scaffold reads, in a fresh temporary folder.
    fn repository() -> PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let root = std::env::temp_dir().join(format!("scaffold-{}-{nanos}", std::process::id()));
        for dir in ["src", "sim/src", "connectors/sdk", "connectors/zendesk/src"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let write = |file: &str, text: &str| std::fs::write(root.join(file), text).unwrap();
        write("Cargo.toml", "[dependencies]\nerasure-connector-zendesk = { path = \"connectors/zendesk\" }\n");
        write("src/registry.rs", "include!(concat!(env!(\"OUT_DIR\"), \"/connector_kinds.rs\"));\n");
        write("sim/src/lib.rs", "mod harness;\nmod zendesk;\n");
        root
    }

    #[test]
    fn a_connector_is_written_and_registered_once_from_anywhere_in_the_repository() {
        let root = repository();
        let found = find_repository(&root.join("connectors/zendesk/src")).unwrap();
        assert_eq!(found, root.canonicalize().unwrap());

        let done = new_connector(&found, "acme", &["zendesk"]).unwrap();
        assert_eq!(done.package, "erasure-connector-acme");
        for path in &done.created {
            assert!(found.join(path).is_file(), "{path}");
        }
        let read = |file: &str| std::fs::read_to_string(found.join(file)).unwrap();
        assert!(read("Cargo.toml").contains("erasure-connector-acme = { path = \"connectors/acme\" }"));
        assert!(read("connectors/acme/Cargo.toml")
            .contains("[package.metadata.erasure]\nkind = \"acme\"\nconnector = \"Acme\""));
        assert_eq!(read("sim/src/lib.rs"), "pub mod acme;\nmod harness;\nmod zendesk;\n");

        let again = new_connector(&found, "acme", &["zendesk"]).err().unwrap().to_string();
        assert!(again.contains("connectors/acme already exists"), "{again}");
        assert_eq!(read("sim/src/lib.rs").matches("pub mod acme;").count(), 1, "registered once");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn nothing_is_written_when_a_registration_cannot_be_made() {
        let root = repository();
        std::fs::write(root.join("sim/src/lib.rs"), "// no modules\n").unwrap();
        let refused = new_connector(&root, "acme", &[]).err().unwrap().to_string();
        assert!(refused.contains("no module declarations"), "{refused}");
        assert!(!root.join("connectors/acme").exists() && !root.join("sim/src/acme").exists());
        assert!(!std::fs::read_to_string(root.join("Cargo.toml")).unwrap().contains("acme"));
        std::fs::remove_dir_all(&root).unwrap();

        let outside = std::env::temp_dir();
        assert!(find_repository(&outside).is_err(), "the temporary folder is no repository");
    }
}
