//! The one integration test binary. Each module covers one area of the
//! product and drives the real `ohmc-infra` binary through `harness`.

mod harness;

mod audit;
mod bad_input;
mod bootstrap;
mod canary;
mod drill;
mod environments;
mod integrity;
mod monitoring;
mod monitoring_checks;
mod platform_code;
mod platform_e2e;
mod remote_state;
mod saved_plan;
mod spine;
mod terraform_judge;
mod verify;
mod verify_cli;
mod verify_hardening;
mod wiring;
