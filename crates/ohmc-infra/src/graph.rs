//! Stack dependency order and the bounded-parallel runner that follows it.
//!
//! A stack starts once everything it depends on has succeeded. A failure skips
//! only the stacks downstream of it; independent stacks run to completion, so
//! one failure never hides another stack's result (the `run-all` fault).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::environment::StackSpec;

/// Stack names in an order where dependencies come first; or the cycle found.
pub fn topological_order(stacks: &[StackSpec]) -> Result<Vec<String>, Vec<String>> {
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    let mut visiting = Vec::new();
    fn visit(
        name: &str,
        stacks: &[StackSpec],
        done: &mut BTreeSet<String>,
        visiting: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        if done.contains(name) {
            return Ok(());
        }
        if let Some(pos) = visiting.iter().position(|v| v == name) {
            let mut cycle = visiting[pos..].to_vec();
            cycle.push(name.to_string());
            return Err(cycle);
        }
        visiting.push(name.to_string());
        if let Some(stack) = stacks.iter().find(|s| s.name == name) {
            for dep in &stack.depends_on {
                visit(dep, stacks, done, visiting, order)?;
            }
        }
        visiting.pop();
        done.insert(name.to_string());
        order.push(name.to_string());
        Ok(())
    }
    for s in stacks {
        visit(&s.name, stacks, &mut done, &mut visiting, &mut order)?;
    }
    Ok(order)
}

/// How one stack's run ended.
#[derive(Debug)]
pub enum StackOutcome<T, E> {
    Done(T),
    Failed(E),
    /// Not run because a stack it needs did not succeed.
    Skipped {
        blocked_by: String,
    },
}

/// The `blocked_by` of a stack that never started because the run was interrupted.
/// Not a stack name: those start with a letter or digit.
pub const INTERRUPTED: &str = "(interrupted)";

/// Runs `task` for every stack, dependencies first (or dependents first when
/// `reverse`, as destroy needs), at most `parallelism` at a time. Returns the
/// outcomes in topological order.
pub async fn run_in_order<T, E, F, Fut>(
    stacks: &[StackSpec],
    parallelism: usize,
    reverse: bool,
    task: F,
) -> Vec<(String, StackOutcome<T, E>)>
where
    F: Fn(StackSpec) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    run_in_order_until(stacks, parallelism, reverse, || false, task).await
}

/// [`run_in_order`], starting no stack once `stopped()` says so: those are Skipped,
/// blocked by [`INTERRUPTED`], rather than started only to be interrupted at once
/// (which reads as a failure of a stack that never ran).
pub async fn run_in_order_until<T, E, S, F, Fut>(
    stacks: &[StackSpec],
    parallelism: usize,
    reverse: bool,
    stopped: S,
    task: F,
) -> Vec<(String, StackOutcome<T, E>)>
where
    S: Fn() -> bool,
    F: Fn(StackSpec) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let order = topological_order(stacks)
        .unwrap_or_else(|_| stacks.iter().map(|s| s.name.clone()).collect());
    // What must finish before each stack may start.
    let mut prerequisites: BTreeMap<String, Vec<String>> = stacks
        .iter()
        .map(|s| (s.name.clone(), Vec::new()))
        .collect();
    for s in stacks {
        for d in &s.depends_on {
            if reverse {
                prerequisites
                    .entry(d.clone())
                    .or_default()
                    .push(s.name.clone());
            } else {
                prerequisites
                    .entry(s.name.clone())
                    .or_default()
                    .push(d.clone());
            }
        }
    }
    let mut outcomes: BTreeMap<String, StackOutcome<T, E>> = BTreeMap::new();
    let mut running = FuturesUnordered::new();
    let mut started = BTreeSet::new();
    let parallelism = parallelism.max(1);
    loop {
        // Resolve skips, then start whatever is ready, in a stable order.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for name in &order {
                if started.contains(name) || outcomes.contains_key(name) {
                    continue;
                }
                // After an interrupt nothing else starts, and each stack
                // says so: blaming the interrupted dependency would read as
                // if that stack had failed on its own.
                let prereqs = &prerequisites[name];
                let blocked_by = if stopped() {
                    Some(INTERRUPTED.to_string())
                } else {
                    prereqs
                        .iter()
                        .find(|p| {
                            matches!(
                                outcomes.get(*p),
                                Some(StackOutcome::Failed(_)) | Some(StackOutcome::Skipped { .. })
                            )
                        })
                        .cloned()
                };
                if let Some(blocked_by) = blocked_by {
                    outcomes.insert(name.clone(), StackOutcome::Skipped { blocked_by });
                    progressed = true;
                    continue;
                }
                let ready = prereqs
                    .iter()
                    .all(|p| matches!(outcomes.get(p), Some(StackOutcome::Done(_))));
                if ready && running.len() < parallelism {
                    let spec = stacks
                        .iter()
                        .find(|s| &s.name == name)
                        .expect("stack exists")
                        .clone();
                    started.insert(name.clone());
                    let fut = task(spec);
                    let name = name.clone();
                    running.push(async move { (name, fut.await) });
                }
            }
        }
        match running.next().await {
            Some((name, result)) => {
                started.remove(&name);
                outcomes.insert(
                    name,
                    match result {
                        Ok(v) => StackOutcome::Done(v),
                        Err(e) => StackOutcome::Failed(e),
                    },
                );
            }
            None => break,
        }
    }
    let mut order = order;
    if reverse {
        order.reverse();
    }
    order
        .into_iter()
        .filter_map(|n| outcomes.remove(&n).map(|o| (n, o)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn stack(name: &str, deps: &[&str]) -> StackSpec {
        StackSpec {
            name: name.into(),
            dir: "/".into(),
            backend_config: None,
            backend_values: vec![],
            var_files: vec![],
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn orders_and_finds_cycles() {
        let stacks = vec![
            stack("app", &["data"]),
            stack("data", &["network"]),
            stack("network", &[]),
        ];
        assert_eq!(
            topological_order(&stacks).unwrap(),
            ["network", "data", "app"]
        );
        let cyclic = vec![stack("a", &["b"]), stack("b", &["a"])];
        assert_eq!(topological_order(&cyclic).unwrap_err(), ["a", "b", "a"]);
    }

    #[tokio::test]
    async fn failure_skips_only_dependents() {
        let stacks = vec![
            stack("network", &[]),
            stack("data", &["network"]),
            stack("app", &["data"]),
            stack("edge", &["network"]),
        ];
        let ran = Arc::new(Mutex::new(Vec::new()));
        let outcomes = run_in_order(&stacks, 2, false, |s| {
            let ran = ran.clone();
            async move {
                ran.lock().unwrap().push(s.name.clone());
                if s.name == "data" {
                    Err("boom")
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let summary: Vec<String> = outcomes
            .iter()
            .map(|(n, o)| match o {
                StackOutcome::Done(_) => format!("{n}: done"),
                StackOutcome::Failed(e) => format!("{n}: failed {e}"),
                StackOutcome::Skipped { blocked_by } => format!("{n}: skipped ({blocked_by})"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "network: done",
                "data: failed boom",
                "app: skipped (data)",
                "edge: done"
            ]
        );
        assert_eq!(ran.lock().unwrap()[0], "network");
    }

    /// After an interrupt (here: while the first stack runs), a stack that has not
    /// started is Skipped, blocked by the interrupt, and its task never runs: before,
    /// it started and was killed at once, reported as a failure of its own.
    #[tokio::test]
    async fn nothing_starts_after_an_interrupt() {
        let stacks = vec![
            stack("network", &[]),
            stack("edge", &[]),
            stack("app", &["network"]),
        ];
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ran = Arc::new(Mutex::new(Vec::new()));
        let outcomes = run_in_order_until(
            &stacks,
            1,
            false,
            || stop.load(std::sync::atomic::Ordering::SeqCst),
            |s| {
                let ran = ran.clone();
                let stop = stop.clone();
                async move {
                    ran.lock().unwrap().push(s.name.clone());
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                    Ok::<_, &str>(())
                }
            },
        )
        .await;
        assert_eq!(*ran.lock().unwrap(), ["network"]);
        let skipped: Vec<(&str, &str)> = outcomes
            .iter()
            .filter_map(|(n, o)| match o {
                StackOutcome::Skipped { blocked_by } => Some((n.as_str(), blocked_by.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(skipped, [("edge", INTERRUPTED), ("app", INTERRUPTED)]);
    }

    #[tokio::test]
    async fn reverse_runs_dependents_first() {
        let stacks = vec![stack("network", &[]), stack("data", &["network"])];
        let ran = Arc::new(Mutex::new(Vec::new()));
        run_in_order(&stacks, 4, true, |s| {
            let ran = ran.clone();
            async move {
                ran.lock().unwrap().push(s.name.clone());
                Ok::<_, ()>(())
            }
        })
        .await;
        assert_eq!(*ran.lock().unwrap(), ["data", "network"]);
    }
}
