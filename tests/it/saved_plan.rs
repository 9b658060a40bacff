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
                    rc.previous_address.clone(),
                    rc.change.importing.clone().map(|i| (i.id, i.unknown)),
                )
            })
            .collect();
        rcs.sort();
        rcs
    };
    assert_eq!(identity(from_file), identity(from_show));
    let drift = |d: &PlanDocument| {
        let mut addresses: Vec<_> = d
            .resource_drift
            .iter()
            .map(|rc| (rc.address.clone(), rc.change.actions.clone()))
            .collect();
        addresses.sort();
        addresses
    };
    assert_eq!(drift(from_file), drift(from_show));
    assert_eq!(from_file.deferred_changes, from_show.deferred_changes);
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

/// The id of a resource in a stack's state.
fn state_id(f: &Fixture, address_name: &str) -> String {
    let out = f
        .terraform("dev", "stacks/shapes")
        .args(["state", "pull"])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == address_name)
        .and_then(|r| r["instances"][0]["attributes"]["id"].as_str())
        .unwrap_or_else(|| panic!("no {address_name} in state"))
        .to_string()
}

fn saved_plan_file_reads_like_show_json(tf: Tf) {
    let f = Fixture::on("plan_shapes", tf);
    // Moves, forgets and imports exist from 1.1, 1.7 and 1.5 on.
    let modern = tf == Tf::Current;
    let modern_stage = |stage: &str, adopted_id: &str| {
        let text = std::fs::read_to_string(f.path(&format!("modern/{stage}.tf"))).unwrap();
        f.write(
            "stacks/shapes/modern.tf",
            &text.replace("ADOPTED_ID", adopted_id),
        );
    };
    if modern {
        modern_stage("stage1", "");
    }
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
    // 1.0 plans a partly unknown output as wholly unknown; 1.15 keeps what
    // is known and marks each unknown part.
    let (box_ids, partly_unknown) = if modern {
        (
            r#"{"x":"(known after apply)","y":"(known after apply)"}"#,
            r#"{"known":"k","id":"(known after apply)"}"#,
        )
    } else {
        (r#""(known after apply)""#, r#""(known after apply)""#)
    };
    assert_eq!(
        outputs,
        [
            format!("output   box_ids = {box_ids} (create)"),
            "output   flag = false (create)".into(),
            "output   fraction = 0.5 (create)".into(),
            "output   number = 3 (create)".into(),
            "output   object = {\"l\":[\"a\",\"b\"],\"m\":{\"k\":\"v\"},\"n\":1.5,\"s\":\"x\"} (create)".into(),
            format!("output   partly_unknown = {partly_unknown} (create)"),
            "output   token = \"(sensitive)\" (create)".into(),
            "output   tuple = [1,\"two\",true,null] (create)".into(),
            "output   unknown_id = \"(known after apply)\" (create)".into(),
        ]
    );

    f.run_ok(&["apply", "dev"], 0);
    f.write("environments/dev/shapes.tfvars", GENERATION_1);
    let adopted_id = if modern {
        let id = state_id(&f, "dropped");
        modern_stage("stage2", &id);
        id
    } else {
        String::new()
    };
    let changed = f.run_ok(&["plan", "dev"], 2);
    let (from_file, from_show) = both_readings(&f, &changed);
    assert_same(&from_file, &from_show);
    // What a reviewer sees, summarised from the plan file alone.
    let (counted_reason, moves, forget, partly_unknown) = if modern {
        (
            "  (delete_because_count_index)",
            format!(
                "  import   ohmctest_thing.adopted  (import id {adopted_id})\n  move     ohmctest_thing.after_move  (moved from ohmctest_thing.before_move)\n"
            ),
            "  forget   ohmctest_thing.dropped  (delete_because_no_resource_config)\n",
            r#"{"known":"k","id":"(known after apply)"}"#,
        )
    } else {
        ("", String::new(), "", r#""(known after apply)""#)
    };
    let expected = format!(
        r#"Stack shapes: 0 to create, 11 to update, 1 to replace, 1 to delete
  update   module.boxes["x"].ohmctest_thing.inner
  update   module.boxes["y"].ohmctest_thing.inner
  update   module.single.ohmctest_thing.inner
{moves}  update   ohmctest_thing.counted[0]
  update   ohmctest_thing.counted[1]
  delete   ohmctest_thing.counted[2]{counted_reason}
{forget}  update   ohmctest_thing.keyed["back\\slash"]
  update   ohmctest_thing.keyed["plain"]
  update   ohmctest_thing.keyed["tab\there"]
  update   ohmctest_thing.keyed["with \"quote\""]
  update   ohmctest_thing.keyed["ünïcode"]
  replace  ohmctest_thing.replaced  (replace_because_cannot_update)
  update   ohmctest_thing.secretive
  output   flag = true (update)
  output   fraction = 1.5 (update)
  output   number = 2 (update)
  output   partly_unknown = {partly_unknown} (update)
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
    assert_eq!(f.normalise(&changed.stdout), f.normalise(&expected));
    if modern {
        // The plan the file describes is the plan Terraform applies: the
        // move, forget and import take effect.
        f.run_ok(&["apply", "dev", "--allow-destroy"], 0);
        let state = f.state_list("dev", "stacks/shapes");
        assert!(
            state.contains(&"ohmctest_thing.after_move".to_string()),
            "{state:?}"
        );
        assert!(
            state.contains(&"ohmctest_thing.adopted".to_string()),
            "{state:?}"
        );
        assert!(
            !state.contains(&"ohmctest_thing.dropped".to_string()),
            "{state:?}"
        );
        assert!(
            f.store_names().contains(&"dropped".to_string()),
            "forgotten, not destroyed"
        );
    }
}
