//! Locust's `UsersDispatcher` (locust/dispatch.py) for one ramp-up from zero users: which
//! worker runs how many users of each class at each step, so that a Python worker and a
//! Swarm worker under a Swarm master get what a Locust master would give them.
//!
//! - User classes are sorted by name. Users with a fixed count come first, then the
//!   weighted ones in the order of Locust's Kullback-Leibler generator (weights 2 and 1
//!   give `A A B A A B ...`).
//! - Workers are sorted by (index within their host, id), the host being the id up to
//!   the first `_`, and take the users round-robin.
//! - Each step adds `max(1, floor(spawn_rate))` users over all workers and is followed
//!   by a wait of `step / spawn_rate` seconds (none after the last).

use std::collections::BTreeMap;
use std::time::Duration;

/// A user class as the master dispatches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserClass {
    pub(crate) name: String,
    pub(crate) weight: u32,
    pub(crate) fixed_count: Option<u32>,
}

/// Per worker id, per class name: users.
pub(crate) type Dispatch = BTreeMap<String, BTreeMap<String, u64>>;

/// Locust's `_kl_generator`: yields names so that the counts follow the weights as
/// closely as possible at every prefix.
#[derive(Debug, Clone)]
struct KlGen {
    /// (divergence difference, generated + initial weight, initial weight, name): the
    /// smallest tuple comes next, as the top of Python's heap.
    items: Vec<(f64, f64, f64, String)>,
}

impl KlGen {
    fn new(users: impl IntoIterator<Item = (String, f64)>) -> Self {
        let items = users
            .into_iter()
            .filter(|(_, x)| *x > 0.0)
            .map(|(name, x)| (x * (x / (x + 1.0)).log2(), x + 1.0, x, name))
            .collect();
        Self { items }
    }

    fn next_name(&mut self) -> Option<String> {
        let (i, _) = self.items.iter().enumerate().min_by(|(_, a), (_, b)| {
            a.0.total_cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
                .then(a.3.cmp(&b.3))
        })?;
        let (_, x, weight, name) = self.items[i].clone();
        self.items[i] = (
            weight * (x / (x + 1.0)).log2(),
            x + 1.0,
            weight,
            name.clone(),
        );
        Some(name)
    }
}

/// One dispatch cycle from zero users to a target.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    workers: Vec<String>,
    next_worker: usize,
    users: Dispatch,
    fixed: std::vec::IntoIter<String>,
    weighted: KlGen,
    current: u64,
    target: u64,
    per_step: u64,
    wait: Duration,
    exhausted: bool,
    /// Who got each user, in order (for a ramp-down).
    order: Vec<(String, String)>,
}

impl Dispatcher {
    /// A ramp-up of `target` users at `spawn_rate` per second over `workers`.
    pub(crate) fn new(
        workers: &[String],
        classes: &[UserClass],
        target: u64,
        spawn_rate: f64,
    ) -> Self {
        let mut classes = classes.to_vec();
        classes.sort_by(|a, b| a.name.cmp(&b.name));
        let workers = sort_workers(workers);
        let users = workers
            .iter()
            .map(|w| {
                let per_class = classes.iter().map(|c| (c.name.clone(), 0)).collect();
                (w.clone(), per_class)
            })
            .collect();
        let mut fixed_gen = KlGen::new(
            classes
                .iter()
                .filter_map(|c| c.fixed_count.map(|n| (c.name.clone(), f64::from(n)))),
        );
        let total_fixed: u32 = classes.iter().filter_map(|c| c.fixed_count).sum();
        let fixed: Vec<String> = (0..total_fixed)
            .filter_map(|_| fixed_gen.next_name())
            .collect();
        let weighted = KlGen::new(
            classes
                .iter()
                .filter(|c| c.fixed_count.is_none())
                .map(|c| (c.name.clone(), f64::from(c.weight))),
        );
        let rate = if spawn_rate.is_finite() && spawn_rate > 0.0 {
            spawn_rate
        } else {
            1.0
        };
        let per_step = (rate.floor() as u64).max(1);
        Self {
            workers,
            next_worker: 0,
            users,
            fixed: fixed.into_iter(),
            weighted,
            current: 0,
            target,
            per_step,
            wait: Duration::from_secs_f64(per_step as f64 / rate),
            exhausted: false,
            order: Vec::new(),
        }
    }

    /// How long to wait after a step that is not the last.
    pub(crate) fn wait(&self) -> Duration {
        self.wait
    }

    /// The next step: every worker's absolute counts once it is applied, and whether
    /// more steps follow. `None` once the target is reached (or no class can be
    /// spawned).
    pub(crate) fn next_step(&mut self) -> Option<(Dispatch, bool)> {
        if !self.workers.is_empty() && self.current > self.target {
            let goal = self.current.saturating_sub(self.per_step).max(self.target);
            self.remove_until(goal);
            return Some((self.users.clone(), self.current > self.target));
        }
        if self.workers.is_empty()
            || self.exhausted
            || (self.current >= self.target && self.current > 0)
        {
            return None;
        }
        if self.target == 0 {
            // Locust sends the (all-zero) counts once.
            self.exhausted = true;
            return Some((self.users.clone(), false));
        }
        let goal = (self.current + self.per_step).min(self.target);
        self.add_until(goal);
        let more = !self.exhausted && self.current < self.target;
        Some((self.users.clone(), more))
    }

    /// Dispatch users one by one until `goal` (or no class can be spawned).
    fn add_until(&mut self, goal: u64) {
        while self.current < goal && !self.workers.is_empty() {
            let Some(class) = self.fixed.next().or_else(|| self.weighted.next_name()) else {
                self.exhausted = true;
                break;
            };
            let worker = &self.workers[self.next_worker % self.workers.len()];
            self.next_worker += 1;
            if let Some(n) = self
                .users
                .get_mut(worker)
                .and_then(|per_class| per_class.get_mut(&class))
            {
                *n += 1;
            }
            self.order.push((worker.clone(), class));
            self.current += 1;
        }
    }

    /// Take users back, the last dispatched first, down to `goal`.
    fn remove_until(&mut self, goal: u64) {
        while self.current > goal {
            let Some((worker, class)) = self.order.pop() else {
                break;
            };
            if let Some(n) = self
                .users
                .get_mut(&worker)
                .and_then(|per_class| per_class.get_mut(&class))
            {
                *n = n.saturating_sub(1);
            }
            self.current -= 1;
        }
    }

    /// Go to `target` users from those dispatched so far (a [`Dispatcher::fast_forward`]
    /// of the users running): the next steps add users, or take them back (the last
    /// dispatched first), `max(1, floor(spawn_rate))` a step. Users taken back are not
    /// handed out again by the same dispatcher: a later change starts a new one.
    pub(crate) fn retarget(&mut self, target: u64) {
        self.target = target;
    }

    /// Skip the steps up to `users` (at most the target) without sending them: a run
    /// that has that many users already goes on from there. The next step adds to it.
    pub(crate) fn fast_forward(&mut self, users: u64) {
        self.add_until(users.min(self.target));
    }

    /// Every worker's absolute counts as dispatched so far.
    pub(crate) fn counts(&self) -> Dispatch {
        self.users.clone()
    }

    /// Users per class over all workers, as dispatched so far.
    pub(crate) fn totals(&self) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for per_class in self.users.values() {
            for (class, n) in per_class {
                *out.entry(class.clone()).or_default() += n;
            }
        }
        out
    }
}

/// Locust's `_sort_workers`: by id, then by (index within host, id).
fn sort_workers(workers: &[String]) -> Vec<String> {
    let mut by_id = workers.to_vec();
    by_id.sort();
    by_id.dedup();
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    let mut indexed: Vec<(usize, String)> = by_id
        .into_iter()
        .map(|id| {
            let host = id.split('_').next().unwrap_or_default().to_owned();
            let n = per_host.entry(host).or_default();
            let index = *n;
            *n += 1;
            (index, id)
        })
        .collect();
    indexed.sort();
    indexed.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, weight: u32) -> UserClass {
        UserClass {
            name: name.to_owned(),
            weight,
            fixed_count: None,
        }
    }

    fn run_all(d: &mut Dispatcher) -> Vec<Dispatch> {
        let mut steps = Vec::new();
        while let Some((step, more)) = d.next_step() {
            steps.push(step);
            if !more {
                break;
            }
        }
        steps
    }

    #[test]
    fn the_kl_generator_follows_locusts_example() {
        // What Locust 2.47.0's `_kl_generator` yields (its docstring says AAABAAAAABAA,
        // the code gives this).
        let mut g = KlGen::new([("A".to_owned(), 5.0), ("B".to_owned(), 1.0)]);
        let s: String = (0..12).map(|_| g.next_name().unwrap()).collect();
        assert_eq!(s, "AABAAAAABAAA");
        let mut g = KlGen::new([
            ("AdminUser".to_owned(), 1.0),
            ("WebsiteUser".to_owned(), 2.0),
        ]);
        let order: Vec<String> = (0..6).map(|_| g.next_name().unwrap()).collect();
        assert_eq!(
            order,
            [
                "WebsiteUser",
                "AdminUser",
                "WebsiteUser",
                "WebsiteUser",
                "AdminUser",
                "WebsiteUser"
            ]
        );
    }

    #[test]
    fn users_split_by_weight_and_round_robin_over_workers() {
        let workers = vec!["h_b".to_owned(), "h_a".to_owned()];
        let classes = [class("WebsiteUser", 2), class("AdminUser", 1)];
        let mut d = Dispatcher::new(&workers, &classes, 6, 6.0);
        let steps = run_all(&mut d);
        assert_eq!(steps.len(), 1, "a spawn rate of 6 adds all 6 users at once");
        let last = &steps[0];
        let sum = |class: &str| last.values().map(|m| m[class]).sum::<u64>();
        assert_eq!(sum("WebsiteUser"), 4);
        assert_eq!(sum("AdminUser"), 2);
        // What Locust 2.47.0's UsersDispatcher gives for the same workers and classes.
        for w in ["h_a", "h_b"] {
            assert_eq!(last[w]["AdminUser"], 1, "{w}");
            assert_eq!(last[w]["WebsiteUser"], 2, "{w}");
        }
        assert_eq!(d.totals()["WebsiteUser"], 4);
    }

    #[test]
    fn steps_follow_the_spawn_rate() {
        let workers = vec!["w_1".to_owned()];
        let classes = [class("A", 1)];
        let mut d = Dispatcher::new(&workers, &classes, 5, 2.0);
        assert_eq!(d.wait(), Duration::from_secs(1));
        let counts: Vec<u64> = run_all(&mut d).iter().map(|s| s["w_1"]["A"]).collect();
        assert_eq!(counts, [2, 4, 5]);
        let classes2 = [class("WebsiteUser", 2), class("AdminUser", 1)];
        let mut d = Dispatcher::new(&workers, &classes2, 5, 2.0);
        let counts: Vec<(u64, u64)> = run_all(&mut d)
            .iter()
            .map(|s| (s["w_1"]["AdminUser"], s["w_1"]["WebsiteUser"]))
            .collect();
        // Locust 2.47.0: {Admin 1, Web 1}, {1, 3}, {2, 3}.
        assert_eq!(counts, [(1, 1), (1, 3), (2, 3)]);
        let mut slow = Dispatcher::new(&workers, &classes, 2, 0.5);
        assert_eq!(slow.wait(), Duration::from_secs(2));
        assert_eq!(run_all(&mut slow).len(), 2);
    }

    #[test]
    fn fixed_counts_come_first_and_are_capped() {
        let workers = vec!["w_1".to_owned()];
        let classes = [
            UserClass {
                name: "Admin".to_owned(),
                weight: 1,
                fixed_count: Some(1),
            },
            class("Web", 1),
        ];
        let mut d = Dispatcher::new(&workers, &classes, 4, 100.0);
        let last = run_all(&mut d).pop().unwrap();
        assert_eq!(last["w_1"]["Admin"], 1);
        assert_eq!(last["w_1"]["Web"], 3);
    }

    #[test]
    fn a_run_that_grows_goes_on_from_its_users() {
        let workers = vec!["w_1".to_owned(), "w_2".to_owned()];
        let classes = [class("WebsiteUser", 2), class("AdminUser", 1)];
        let mut whole = Dispatcher::new(&workers, &classes, 9, 3.0);
        let steps = run_all(&mut whole);
        let mut grown = Dispatcher::new(&workers, &classes, 9, 3.0);
        grown.fast_forward(3);
        assert_eq!(
            grown.counts(),
            steps[0],
            "the first 3 users as a whole ramp gives them"
        );
        let rest = run_all(&mut grown);
        assert_eq!(rest, steps[1..], "then the same steps");
        let mut capped = Dispatcher::new(&workers, &classes, 2, 1.0);
        capped.fast_forward(100);
        let total: u64 = capped.counts().values().flat_map(BTreeMap::values).sum();
        assert_eq!(total, 2, "capped at the target");
        assert!(capped.next_step().is_none());
    }

    #[test]
    fn a_run_that_shrinks_loses_its_last_users_first_at_the_spawn_rate() {
        let workers = vec!["w_1".to_owned(), "w_2".to_owned()];
        let classes = [class("WebsiteUser", 2), class("AdminUser", 1)];
        let mut up = Dispatcher::new(&workers, &classes, 9, 3.0);
        let ups = run_all(&mut up);
        let mut down = Dispatcher::new(&workers, &classes, 9, 3.0);
        down.fast_forward(9);
        down.retarget(2);
        let downs = run_all(&mut down);
        let totals: Vec<u64> = downs
            .iter()
            .map(|s| s.values().flat_map(BTreeMap::values).sum())
            .collect();
        assert_eq!(totals, [6, 3, 2], "3 users a step, down to 2");
        // The way down passes through the states of the way up.
        assert_eq!(downs[0], ups[1]);
        assert_eq!(downs[1], ups[0]);
        let mut first_two = Dispatcher::new(&workers, &classes, 2, 100.0);
        assert_eq!(downs[2], run_all(&mut first_two)[0]);
        assert!(down.next_step().is_none());
        // Down to none.
        let mut none = Dispatcher::new(&workers, &classes, 3, 3.0);
        none.fast_forward(3);
        none.retarget(0);
        let steps = run_all(&mut none);
        assert_eq!(steps.len(), 1);
        assert!(steps[0]
            .values()
            .flat_map(BTreeMap::values)
            .all(|n| *n == 0));
    }

    #[test]
    fn workers_spread_over_hosts_first() {
        let ids: Vec<String> = ["a_1", "a_2", "b_1"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(sort_workers(&ids), ["a_1", "b_1", "a_2"]);
    }

    #[test]
    fn nothing_to_dispatch_without_workers_or_users() {
        let classes = [class("A", 1)];
        assert!(Dispatcher::new(&[], &classes, 3, 1.0).next_step().is_none());
        let mut zero = Dispatcher::new(&["w".to_owned()], &classes, 0, 1.0);
        assert_eq!(
            zero.next_step().map(|(s, more)| (s["w"]["A"], more)),
            Some((0, false))
        );
        assert!(zero.next_step().is_none());
        // Only zero weights: nothing can be spawned, and the cycle ends.
        let mut none = Dispatcher::new(&["w".to_owned()], &[class("A", 0)], 3, 1.0);
        let (step, more) = none.next_step().unwrap();
        assert_eq!((step["w"]["A"], more), (0, false));
    }
}
