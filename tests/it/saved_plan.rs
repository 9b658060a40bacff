//! The saved plan read straight from its file (how `plan` summarises without a
//! second Terraform process) agrees with `terraform show -json` on the same
//! file, for every shape the fixture's plans hold.

use std::path::Path;

use ohmc_infra::summary::PlanSummary;
use ohmc_terraform::plan::PlanDocument;

use super::harness::fixture::{Fixture, Run, Tf};
use super::harness::on_every_terraform;

on_every_terraform!(saved_plan_file_reads_like_show_json);

const GENERATION_1: &str = "generation = 1\ntoken      = \"CANARY-token-1\"\n";

/// Both readings of the one plan file in the bundle `run` printed.
fn both_readings(f: &Fixture, run: &Run) -> (PlanDocument, PlanDocument) {
    let plan_file = Path::new(&Fixture::bundle_of(run)).join("shapes.tfplan");
    let from_file = ohmc_terraform::plan_file::read(&plan_file).expect("reading the plan file");
    let out = f
        .terraform("dev", "stacks/shapes")
        .args(["show", "-json"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_show = PlanDocument::parse(&out.stdout).expect("show -json document");
    (from_file, from_show)
}

/// Resource changes agree on what the summary uses (resource values are
/// withheld by design: their sensitivity is only in the provider schema);
/// output changes agree entirely.
fn assert_same(from_file: &PlanDocument, from_show: &PlanDocument) {
    let identity = |d: &PlanDocument| {
        let mut rcs: Vec<_> = d
            .resource_changes
            .iter()
            .map(|rc| {
                (
                    rc.address.clone(),
                    rc.mode.clone(),
                    rc.resource_type.clone(),
                    rc.name.clone(),
                    rc.change.actions.clone(),
                    rc.action_reason.clone(),
                )
            })
            .collect();
        rcs.sort();
        rcs
    };
    assert_eq!(identity(from_file), identity(from_show));
    assert_eq!(from_file.output_changes, from_show.output_changes);
    assert_eq!(from_file.terraform_version, from_show.terraform_version);
    assert_eq!(
        PlanSummary::from_plan(from_file, &[]),
        PlanSummary::from_plan(from_show, &[])
    );
    for rc in &from_file.resource_changes {
        assert_eq!(
            rc.change.redacted_after(),
            serde_json::json!(ohmc_terraform::plan::REDACTED),
            "{} shows a value",
            rc.address
        );
    }
}

fn saved_plan_file_reads_like_show_json(tf: Tf) {
    let f = Fixture::on("plan_shapes", tf);
    let created = f.run_ok(&["plan", "dev"], 2);
    let (from_file, from_show) = both_readings(&f, &created);
    assert_same(&from_file, &from_show);
    let outputs: Vec<String> = created
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("output"))
        .map(str::trim)
        .map(str::to_string)
        .collect();
    assert_eq!(
        outputs,
        [
            "output   box_ids = \"(known after apply)\" (create)",
            "output   flag = false (create)",
            "output   fraction = 0.5 (create)",
            "output   number = 3 (create)",
            "output   object = {\"l\":[\"a\",\"b\"],\"m\":{\"k\":\"v\"},\"n\":1.5,\"s\":\"x\"} (create)",
            "output   partly_unknown = \"(known after apply)\" (create)",
            "output   token = \"(sensitive)\" (create)",
            "output   tuple = [1,\"two\",true,null] (create)",
            "output   unknown_id = \"(known after apply)\" (create)",
        ]
    );

    f.run_ok(&["apply", "dev"], 0);
    f.write("environments/dev/shapes.tfvars", GENERATION_1);
    let changed = f.run_ok(&["plan", "dev"], 2);
    let (from_file, from_show) = both_readings(&f, &changed);
    assert_same(&from_file, &from_show);
    // What a reviewer sees, summarised from the plan file alone.
    assert_eq!(
        f.normalise(&changed.stdout),
        r#"Stack shapes: 0 to create, 11 to update, 1 to replace, 1 to delete
  update   module.boxes["x"].ohmctest_thing.inner
  update   module.boxes["y"].ohmctest_thing.inner
  update   module.single.ohmctest_thing.inner
  update   ohmctest_thing.counted[0]
  update   ohmctest_thing.counted[1]
  delete   ohmctest_thing.counted[2]
  update   ohmctest_thing.keyed["back\\slash"]
  update   ohmctest_thing.keyed["plain"]
  update   ohmctest_thing.keyed["tab\there"]
  update   ohmctest_thing.keyed["with \"quote\""]
  update   ohmctest_thing.keyed["ünïcode"]
  replace  ohmctest_thing.replaced  (replace_because_cannot_update)
  update   ohmctest_thing.secretive
  output   flag = true (update)
  output   fraction = 1.5 (update)
  output   number = 2 (update)
  output   partly_unknown = "(known after apply)" (update)
  output   token = "(sensitive)" (update)
  output   unknown_id = "(known after apply)" (update)

Destructive changes (apply needs --allow-destroy):
  shapes: ohmctest_thing.counted[2]
  shapes: ohmctest_thing.replaced

Plan: 0 to create, 11 to update, 1 to replace, 1 to delete.
Bundle: [STATE]/plans/dev/[STAMP] (sha256 [SHA256])
Apply it with: ohmc-infra apply dev --plan [STATE]/plans/dev/[STAMP]
"#
    );
}
