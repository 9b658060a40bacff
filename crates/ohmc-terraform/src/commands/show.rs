//! `terraform show -json PLANFILE` into the plan model.

use std::path::Path;

use crate::plan::PlanDocument;
use crate::runner::RunContext;
use crate::{Result, Terraform};

pub fn args(plan_file: &Path) -> Vec<String> {
    vec![
        "show".into(),
        "-json".into(),
        "-no-color".into(),
        plan_file.display().to_string(),
    ]
}

impl Terraform {
    pub async fn show_plan(
        &self,
        dir: &Path,
        plan_file: &Path,
        ctx: &RunContext,
    ) -> Result<PlanDocument> {
        Ok(self.show_plan_with_json(dir, plan_file, ctx).await?.0)
    }

    /// The plan a saved plan file holds: read from the file itself where its
    /// layout is known (no second Terraform process), else via `show -json`.
    pub async fn saved_plan(
        &self,
        dir: &Path,
        plan_file: &Path,
        ctx: &RunContext,
    ) -> Result<PlanDocument> {
        if !self.features().direct_plan_file {
            return self.show_plan(dir, plan_file, ctx).await;
        }
        match crate::plan_file::read(plan_file) {
            Err(crate::TerraformError::SavedPlanLayoutUnsupported { .. }) => {
                self.show_plan(dir, plan_file, ctx).await
            }
            read => read,
        }
    }

    /// The plan model and the raw JSON it came from (which holds the values a
    /// redactor needs; the model deliberately does not).
    pub async fn show_plan_with_json(
        &self,
        dir: &Path,
        plan_file: &Path,
        ctx: &RunContext,
    ) -> Result<(PlanDocument, Vec<u8>)> {
        let out = self.run(dir, &args(plan_file), ctx).await?;
        if !out.success() {
            return Err(super::failure("show", &out));
        }
        // show prints one JSON document on one line; the runner parsed each line as
        // a UI event, so the raw stdout is re-read here.
        let raw = out.stdout.trim().as_bytes().to_vec();
        Ok((PlanDocument::parse(&raw)?, raw))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_args() {
        assert_eq!(
            super::args(std::path::Path::new("/b/p.tfplan")),
            ["show", "-json", "-no-color", "/b/p.tfplan"]
        );
    }
}
