//! The call budget: how many AWS calls may be in flight at once per account, region and
//! service. AWS throttles per account and region (and per API within them), not per
//! client, so the bound is keyed the same way and shared by everything one run sends
//! there: a stack run and discovery of the same target, and two targets that reach the
//! same account and region (an environment and an `--account` audit of it). Accounts
//! and regions never wait for each other, so one pod scales with the organisation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A bound on calls in flight per (account, region, service). Cheap to clone; clones
/// share the bound.
#[derive(Clone, Debug)]
pub struct CallBudget {
    per_service: usize,
    slots: Arc<Mutex<HashMap<Key, Arc<Semaphore>>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    account: String,
    region: String,
    service: &'static str,
}

impl CallBudget {
    /// At most `per_service` calls in flight per account, region and service (at least 1).
    pub fn new(per_service: usize) -> Self {
        CallBudget {
            per_service: per_service.max(1),
            slots: Arc::default(),
        }
    }

    /// The bound.
    pub fn per_service(&self) -> usize {
        self.per_service
    }

    /// Waits for a slot. `None` only if the semaphore was closed, which this type never
    /// does; the call then goes ahead rather than hang.
    pub(crate) async fn acquire(
        &self,
        account: &str,
        region: &str,
        service: &'static str,
    ) -> Option<OwnedSemaphorePermit> {
        let key = Key {
            account: account.to_string(),
            region: region.to_string(),
            service,
        };
        let sem = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_service)))
                .clone()
        };
        sem.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Many tasks on two keys of the same service: each key never exceeds its bound,
    /// and the two keys run at the same time (the bound is not global).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_bound_holds_per_key_and_keys_do_not_wait_for_each_other() {
        let budget = CallBudget::new(2);
        let in_flight: Arc<[AtomicUsize; 2]> = Arc::new(Default::default());
        let max: Arc<[AtomicUsize; 2]> = Arc::new(Default::default());
        let both = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (budget, in_flight, max, both) =
                (budget.clone(), in_flight.clone(), max.clone(), both.clone());
            tasks.push(tokio::spawn(async move {
                let k = i % 2;
                let account = ["111111111111", "222222222222"][k];
                let _p = budget.acquire(account, "us-east-1", "rds").await;
                let now = in_flight[k].fetch_add(1, Ordering::SeqCst) + 1;
                max[k].fetch_max(now, Ordering::SeqCst);
                let other = in_flight[1 - k].load(Ordering::SeqCst);
                both.fetch_max(now + other, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                in_flight[k].fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max[0].load(Ordering::SeqCst), 2);
        assert_eq!(max[1].load(Ordering::SeqCst), 2);
        assert!(
            both.load(Ordering::SeqCst) > 2,
            "accounts waited for each other"
        );
    }
}
