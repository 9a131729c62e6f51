//! The template of a connector crate (`connectors/template/`), embedded in the binary, and how its
//! placeholders are filled.

use super::name::Names;

/// Where each template file goes, relative to the repository, `NAME` standing for the kind.
const FILES: &[(&str, &str)] = &[
    ("connectors/NAME/Cargo.toml", include_str!("../../connectors/template/Cargo.toml.tmpl")),
    ("connectors/NAME/README.md", include_str!("../../connectors/template/README.md.tmpl")),
    ("connectors/NAME/src/lib.rs", include_str!("../../connectors/template/src/lib.rs.tmpl")),
    ("connectors/NAME/src/config.rs", include_str!("../../connectors/template/src/config.rs.tmpl")),
    ("connectors/NAME/src/api.rs", include_str!("../../connectors/template/src/api.rs.tmpl")),
    ("connectors/NAME/src/erasure.rs", include_str!("../../connectors/template/src/erasure.rs.tmpl")),
    ("connectors/NAME/tests/common/mod.rs", include_str!("../../connectors/template/tests/common/mod.rs.tmpl")),
    ("connectors/NAME/tests/conformance.rs", include_str!("../../connectors/template/tests/conformance.rs.tmpl")),
    ("sim/src/NAME/mod.rs", include_str!("../../connectors/template/sim/mod.rs.tmpl")),
];

/// Every file of the new connector: its path in the repository and its text.
pub fn render(names: &Names) -> Vec<(String, String)> {
    FILES.iter().map(|(path, text)| (path.replace("NAME", &names.kind), fill(text, names))).collect()
}

fn fill(text: &str, names: &Names) -> String {
    text.replace("{{name}}", &names.kind)
        .replace("{{Name}}", &names.type_name)
        .replace("{{package}}", &names.package)
        .replace("{{crate}}", &names.crate_name)
        .replace("{{NAME}}", &names.env_prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let names = super::super::name::check("acme_crm", &[]).unwrap();
        let files = render(&names);
        assert_eq!(files.len(), FILES.len());
        for (path, text) in &files {
            assert!(!path.contains("NAME") && path.contains("acme_crm"), "{path}");
            assert!(!text.contains("{{"), "{path} keeps a placeholder");
        }
        let lib = &files.iter().find(|(path, _)| path.ends_with("src/lib.rs")).unwrap().1;
        assert!(lib.contains("impl Connector for AcmeCrm") && lib.contains("\"acme_crm\""));
    }

    #[test]
    fn the_longest_name_keeps_every_line_within_rustfmts_width() {
        let longest = "a".repeat(super::super::name::MAX_LEN);
        for (path, text) in render(&super::super::name::check(&longest, &[]).unwrap()) {
            for line in text.lines().filter(|_| path.ends_with(".rs")) {
                assert!(line.len() <= 120, "{path}: {line}");
            }
        }
    }
}
