//! Registering a new kind: the lines the scaffold adds to files of the repository. Each function
//! takes a file's text and returns it with the line added, or says why it cannot.

use super::name::Names;

/// The root `Cargo.toml`: the kind's crate, after the last connector dependency.
pub fn cargo_dependency(manifest: &str, names: &Names) -> Result<String, String> {
    let line = format!("{} = {{ path = \"connectors/{}\" }}", names.package, names.kind);
    let is_connector = |l: &str| l.starts_with("erasure-connector-") && l.contains("path = \"connectors/");
    insert_after_last(manifest, is_connector, &line)
        .ok_or_else(|| "Cargo.toml: no `erasure-connector-... = { path = \"connectors/...\" }` line to add to".into())
}

/// `sim/src/lib.rs`: `pub mod NAME;` among the module declarations, in rustfmt's order (by name).
pub fn sim_module(lib: &str, names: &Names) -> Result<String, String> {
    let module_of = |l: &str| {
        l.strip_prefix("pub mod ")
            .or_else(|| l.strip_prefix("mod "))
            .and_then(|m| m.strip_suffix(';'))
            .map(str::to_string)
    };
    let is_attribute = |l: &str| l.starts_with("#[");
    let lines: Vec<&str> = lib.lines().collect();
    let first = lines.iter().position(|l| module_of(l).is_some()).ok_or("sim/src/lib.rs: no module declarations")?;
    // The block goes on through attributes (`#[cfg(test)]`), which belong to the module below them.
    let block = lines[first..].iter().take_while(|l| module_of(l).is_some() || is_attribute(l)).count();
    let mut at = first + block;
    let mut declaration_start = first;
    for (i, line) in lines.iter().enumerate().take(first + block).skip(first) {
        match module_of(line) {
            Some(module) if module.as_str() > names.kind.as_str() => {
                at = declaration_start;
                break;
            }
            Some(_) => declaration_start = i + 1,
            None => {}
        }
    }
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(at, format!("pub mod {};", names.kind));
    Ok(out.join("\n") + if lib.ends_with('\n') { "\n" } else { "" })
}

fn insert_after_last(text: &str, matches: impl Fn(&str) -> bool, line: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.iter().rposition(|l| matches(l))?;
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(last + 1, line.to_string());
    Some(out.join("\n") + if text.ends_with('\n') { "\n" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaffold::name;

    fn acme() -> Names {
        name::check("acme", &[]).unwrap()
    }

    #[test]
    fn the_dependency_follows_the_last_connector() {
        let manifest = "[dependencies]\nerasure-connector.workspace = true\nerasure-connector-zendesk = { path = \"connectors/zendesk\" }\nanyhow = \"1\"\n";
        assert_eq!(
            cargo_dependency(manifest, &acme()).unwrap(),
            "[dependencies]\nerasure-connector.workspace = true\nerasure-connector-zendesk = { path = \"connectors/zendesk\" }\nerasure-connector-acme = { path = \"connectors/acme\" }\nanyhow = \"1\"\n"
        );
        assert!(cargo_dependency("[dependencies]\nanyhow = \"1\"\n", &acme()).is_err());
    }

    #[test]
    fn a_module_goes_before_the_attributes_of_the_module_after_it() {
        let lib = "mod answer;\nmod loki;\n#[cfg(test)]\nmod lookup_cost_tests;\nmod twilio;\n";
        assert_eq!(
            sim_module(lib, &name::check("beta", &[]).unwrap()).unwrap(),
            "mod answer;\npub mod beta;\nmod loki;\n#[cfg(test)]\nmod lookup_cost_tests;\nmod twilio;\n"
        );
        assert_eq!(
            sim_module(lib, &name::check("mailer", &[]).unwrap()).unwrap(),
            "mod answer;\nmod loki;\n#[cfg(test)]\nmod lookup_cost_tests;\npub mod mailer;\nmod twilio;\n"
        );
        assert_eq!(
            sim_module(lib, &name::check("zeta", &[]).unwrap()).unwrap(),
            "mod answer;\nmod loki;\n#[cfg(test)]\nmod lookup_cost_tests;\nmod twilio;\npub mod zeta;\n"
        );
        assert_eq!(
            sim_module(lib, &name::check("lookup", &[]).unwrap()).unwrap(),
            "mod answer;\nmod loki;\npub mod lookup;\n#[cfg(test)]\nmod lookup_cost_tests;\nmod twilio;\n"
        );
    }

    #[test]
    fn the_simulator_module_takes_its_place_by_name() {
        let lib = "//! Sim.\n\nmod control;\nmod loki;\nmod zendesk;\n\npub use loki::Loki;\n";
        assert_eq!(
            sim_module(lib, &acme()).unwrap(),
            "//! Sim.\n\npub mod acme;\nmod control;\nmod loki;\nmod zendesk;\n\npub use loki::Loki;\n"
        );
        let last = name::check("zz", &[]).unwrap();
        assert!(sim_module(lib, &last).unwrap().contains("mod zendesk;\npub mod zz;\n\npub use"));
    }
}
