//! `terraform-provider-ohmctest`: the Terraform provider ohmc-infra's own
//! tests drive the real Terraform binary with.
//!
//! Its one resource, `ohmctest_thing`, is backed by JSON files (see
//! [`store`]), so a test gets real creates, in-place updates, replacements,
//! deletes and drift without a cloud account, and can make an apply slow or
//! failing on purpose (see [`thing`]). The provider block ([`provider`]) only
//! says where the files live.

mod provider;
mod store;
mod thing;

/// The name tf-provider prefixes to resource names: `ohmctest_thing`.
const PROVIDER_NAME: &str = "ohmctest";

fn main() -> anyhow::Result<()> {
    // Terraform runs plugins in its own process group, so a terminal's Ctrl-C
    // reaches this process too. Dying on it would fail the very apply that
    // Terraform is trying to let finish gracefully; stopping is Terraform's
    // decision, sent over gRPC.
    // SAFETY: no other thread exists yet (the runtime is built below), and
    // SIG_IGN installs no handler code. The same holds for set_var below.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    // tf-provider appends a std backtrace to every diagnostic's detail when
    // backtraces are enabled (RUST_BACKTRACE=1 is common in CI). Frames such
    // as `core::panic::unwind_safe` contain "panic:", and Terraform 1.0.3's
    // panicwrap parent reads that on stderr as a Terraform crash: a plain
    // error diagnostic turns into "TERRAFORM CRASH" and a crash.log. Panics
    // keep their backtraces; only std::backtrace::Backtrace::capture is off.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tf_provider::serve(
            PROVIDER_NAME,
            provider::OhmcTestProvider::default(),
        ))
}
