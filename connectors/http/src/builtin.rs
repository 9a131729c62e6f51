//! The built-in definitions, embedded at build time from `connectors/definitions/*.toml` (see
//! `build.rs`): the container needs no file beside the binary.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The file name and text of built-in definition `name`.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN.iter().find(|(known, _, _)| *known == name).map(|(_, file, text)| (*file, *text))
}

/// The names of every built-in definition.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _, _)| *name).collect()
}
