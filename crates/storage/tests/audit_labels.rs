//! Every action and kind of record the audit log can hold has a Chinese
//! label for the audit page (issue 13 item 6): the literal codes written
//! anywhere in the workspace's sources, and the case actions.

use std::path::Path;

use gongjian_storage::{AUDIT_ACTIONS, AUDIT_ENTITIES};

/// The string literals that follow `AuditRecord::new(` in `text`: the
/// action, and the entity when it is a literal too.
fn literal_codes(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for part in text.split("AuditRecord::new(").skip(1) {
        let part = part.trim_start();
        let Some(rest) = part.strip_prefix('"') else {
            continue;
        };
        let Some((action, rest)) = rest.split_once('"') else {
            continue;
        };
        let entity = rest
            .trim_start()
            .strip_prefix(',')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('"'))
            .and_then(|r| r.split_once('"'))
            .map(|(e, _)| e.to_owned());
        out.push((action.to_owned(), entity));
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_audit_code_in_the_sources_has_a_chinese_label() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut texts = Vec::new();
    for krate in std::fs::read_dir(&crates).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            sources(&src, &mut texts);
        }
    }
    let known = |table: &[(&str, &str)], code: &str| table.iter().any(|(c, _)| *c == code);
    let mut found = 0;
    for text in &texts {
        for (action, entity) in literal_codes(text) {
            found += 1;
            assert!(
                known(AUDIT_ACTIONS, &action),
                "no label for action {action:?}"
            );
            if let Some(e) = entity {
                assert!(known(AUDIT_ENTITIES, &e), "no label for entity {e:?}");
            }
        }
    }
    assert!(found > 30, "the scan found the audit records ({found})");
    for a in gongjian_alarms::CaseAction::ALL {
        assert!(known(AUDIT_ACTIONS, a.as_str()), "case action {a:?}");
    }
}
