//! Embeds every built-in definition (`connectors/definitions/*.toml`) in the binary: adding a
//! file there is all it takes to make it selectable by name (`definition = "NAME"`).

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../definitions");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    let mut table = String::from(
        "/// (name, file, text) of every built-in definition.\npub const BUILTIN: &[(&str, &str, &str)] = &[\n",
    );
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let absolute = path.canonicalize().unwrap();
        writeln!(
            table,
            "    ({name:?}, \"connectors/definitions/{name}.toml\", include_str!({:?})),",
            absolute.display().to_string()
        )
        .unwrap();
    }
    table.push_str("];\n");
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin.rs"), table).unwrap();
}
