//! The repository's own plan, `plans/pingyuan-2020`, parses and validates.
//! (Reading the files is the test's job; the library only sees text.)

use std::path::Path;

use gongjian_campaign::{Source, parse};

fn load(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn pingyuan_2020_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020");
    let files = load(&dir);
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(n, t)| Source { name: n, text: t })
        .collect();
    let campaign = match parse(&sources) {
        Ok(c) => c,
        Err(e) => panic!("plans/pingyuan-2020 does not validate:\n{e}"),
    };
    assert_eq!(campaign.district, "平原示范区");
    let counts = campaign.counts();
    let n = |plan: &str| counts.iter().find(|c| c.plan == plan).map(|c| c.tasks);
    assert_eq!(n("air"), Some(46));
    assert_eq!(n("water"), Some(27));
    assert_eq!(n("soil"), Some(24));
    assert_eq!(campaign.sections.len(), 7);
    assert_eq!(campaign.limit_sets.len(), 6);
}

/// The example in docs/plan-format.md is a valid plan and means what the
/// document says it means.
#[test]
fn documented_example_validates() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plan-format.md"),
    )
    .unwrap();
    let mut example = String::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("```toml") {
            inside = true;
        } else if line.starts_with("```") {
            inside = false;
        } else if inside {
            example.push_str(line);
            example.push('\n');
        }
    }
    assert!(
        !example.is_empty(),
        "no ```toml block in docs/plan-format.md"
    );
    let c = match parse(&[Source {
        name: "plan-format.md",
        text: &example,
    }]) {
        Ok(c) => c,
        Err(e) => panic!("the documented example does not validate:\n{e}"),
    };
    let t = c.task("air-15").expect("the example's task key is air-15");
    assert_eq!(t.lead, ["区农业农村局"]);
    assert_eq!(t.townships, ["原武镇"]);
}
