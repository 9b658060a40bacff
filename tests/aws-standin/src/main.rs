//! `terraform-provider-aws-schema-standin`: a test-only stand-in for the
//! `hashicorp/aws` provider (and `hashicorp/random`, `hashicorp/tls`).
//!
//! It creates nothing and never calls AWS. It serves the real providers'
//! schemas (`terraform/schema/providers-schema.json`, see [`schema`]), so
//! Terraform can `validate`, `plan`, `apply` and `test` the platform's real
//! stacks on a machine that cannot download the providers. Plans leave
//! computed attributes unknown; applies fill them deterministically
//! ([`value`]); a few data sources answer for real ([`data`]).
//!
//! Which provider it is comes from the name it is installed under
//! (`terraform-provider-<name>_v<version>`), so one binary serves all three
//! through the filesystem mirror (`scripts/build-test-provider`).

mod data;
mod provider;
mod schema;
mod value;

/// The provider a binary installed as `terraform-provider-random_v3.7.2`
/// plays; anything else plays `aws`.
fn provider_name(exe: &std::path::Path) -> String {
    exe.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("terraform-provider-"))
        .and_then(|n| n.split_once("_v"))
        .map_or_else(|| "aws".to_owned(), |(name, _)| name.to_owned())
}

fn main() -> anyhow::Result<()> {
    // Terraform forwards a terminal's Ctrl-C to the whole process group;
    // stopping is Terraform's decision, sent over gRPC.
    // SAFETY: no other thread exists yet; SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    // See tests/provider: backtraces in diagnostics confuse Terraform 1.0.3.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    let exe = std::env::current_exe()?;
    let name = provider_name(&exe);
    let schema = schema::ProviderSchema::load(schema::SCHEMA_JSON, &name)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tf_provider::serve(
            name.clone(),
            provider::StandinProvider::new(&name, schema),
        ))
}

#[cfg(test)]
mod tests {
    use super::provider_name;
    use std::path::Path;

    #[test]
    fn the_installed_name_picks_the_provider() {
        assert_eq!(
            provider_name(Path::new("/m/terraform-provider-random_v3.7.2")),
            "random"
        );
        assert_eq!(
            provider_name(Path::new("/m/terraform-provider-aws_v5.99.1")),
            "aws"
        );
        assert_eq!(
            provider_name(Path::new("/t/terraform-provider-aws-schema-standin")),
            "aws"
        );
    }
}
