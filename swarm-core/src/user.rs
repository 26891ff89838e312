//! The `User` trait, the per-user context, and registration of user types.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use url::Url;

use crate::error::TaskError;
use crate::stats::Recorder;
use crate::task::Tasks;
use crate::wait::Wait;

/// The random number generator of a user: seeded from `--seed`, the user type and the
/// user's number, so a seeded run makes the same choices again.
pub type UserRng = rand::rngs::SmallRng;

/// A simulated user: built by [`User::on_start`], it runs its [`User::tasks`] one after
/// another with a [`Wait`] between them until the run stops, then [`User::on_stop`].
///
/// ```
/// use swarm_core::prelude::*;
///
/// struct Pinger { pings: u64 }
///
/// #[async_trait]
/// impl User for Pinger {
///     async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
///         Ok(Pinger { pings: 0 })
///     }
///     fn tasks() -> Tasks<Self> {
///         Tasks::new().task("ping", Self::ping)
///     }
///     fn wait_time(&self) -> Wait {
///         Wait::between_secs(1.0, 2.0)
///     }
/// }
///
/// impl Pinger {
///     async fn ping(&mut self, ctx: &mut UserContext) -> TaskResult {
///         self.pings += 1;
///         ctx.recorder().success("PING", "ping", std::time::Duration::from_millis(1), 0);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait User: Sized + Send + 'static {
    /// Build the user when it is spawned (Locust's `on_start`): log in, open a
    /// connection, read settings. When it fails, the failure is counted and the user tries
    /// again, until the run stops: after 1 s, then twice as long after each failure in a
    /// row, up to 30 s (a struggling target is not met with a retry storm).
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError>;

    /// The user's tasks. Called once per run.
    fn tasks() -> Tasks<Self>;

    /// The pause after each task. Called after every task, so it may change over time.
    fn wait_time(&self) -> Wait {
        Wait::none()
    }

    /// Called once per run before any user of this type starts (Locust's `test_start`
    /// event): create a schema, fund accounts. Put what users need in
    /// [`RunContext::shared`]. When it fails, the run does not start (and
    /// [`User::test_stop`] still runs).
    async fn test_start(_run: &RunContext) -> Result<(), TaskError> {
        Ok(())
    }

    /// Called once per run after every user stopped, on every exit path (run time, Ctrl-C,
    /// an aborting threshold, a failed `test_start`). A failure is reported.
    async fn test_stop(_run: &RunContext) -> Result<(), TaskError> {
        Ok(())
    }

    /// Called once when the user stops (Locust's `on_stop`).
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        Ok(())
    }

    /// The name of the user type, for the command line and reports.
    /// Defaults to the type's name without its module path.
    fn name() -> &'static str {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base)
    }

    /// The share of users of this type when several types run (Locust's `weight`).
    fn weight() -> u32 {
        1
    }

    /// A fixed number of users of this type, taken before the weighted share
    /// (Locust's `fixed_count`).
    fn fixed_count() -> Option<u32> {
        None
    }
}

/// What a user knows about itself and its run.
pub struct UserContext {
    pub(crate) id: u64,
    pub(crate) user_type: &'static str,
    pub(crate) rng: UserRng,
    pub(crate) host: Option<Arc<Url>>,
    pub(crate) recorder: Recorder,
    pub(crate) scope: Arc<RunScope>,
    /// The run's feeders as this user sees them.
    pub(crate) feeds: crate::feed::UserFeeds,
}

impl fmt::Debug for UserContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserContext")
            .field("id", &self.id)
            .field("user_type", &self.user_type)
            .field("host", &self.host.as_deref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl UserContext {
    /// The user's number in the run, from 0, unique across user types.
    pub fn user_id(&self) -> u64 {
        self.id
    }

    /// The name of the user's type.
    pub fn user_type(&self) -> &'static str {
        self.user_type
    }

    /// The user's random number generator.
    pub fn rng(&mut self) -> &mut UserRng {
        &mut self.rng
    }

    /// The target host (`--host`), if one is set.
    pub fn host(&self) -> Option<&Url> {
        self.host.as_deref()
    }

    /// The recorder for this user's samples.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// A value shared by every user of the run, built by `init` the first time any user
    /// asks for this type (for example one connection pool or one inbound listener for
    /// all users).
    pub fn shared<T, F>(&self, init: F) -> Arc<T>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> T,
    {
        self.scope.get_or_init(init)
    }

    /// The per-run setting of type `T` handed to the run with
    /// [`Swarm::setting`](crate::Swarm::setting), if any.
    ///
    /// ```
    /// # use swarm_core::prelude::*;
    /// struct Settings { path: String }
    /// # struct U;
    /// # #[async_trait] impl User for U {
    /// async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
    ///     let settings = ctx
    ///         .setting::<Settings>()
    ///         .ok_or_else(|| TaskError::new("no Settings for this run"))?;
    ///     let _path = &settings.path;
    ///     Ok(U)
    /// }
    /// # fn tasks() -> Tasks<Self> { Tasks::new() } }
    /// ```
    pub fn setting<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.scope.get::<T>()
    }

    /// Build a context outside a run, for unit tests of a user's code. Samples recorded
    /// through it go nowhere.
    pub fn detached(host: Option<Url>, seed: u64) -> Self {
        use rand::SeedableRng;
        let agg = crate::stats::Aggregator::new();
        UserContext {
            id: 0,
            user_type: "detached",
            rng: UserRng::seed_from_u64(seed),
            host: host.map(Arc::new),
            recorder: agg.recorder(),
            scope: Arc::new(RunScope::default()),
            feeds: crate::feed::UserFeeds::default(),
        }
    }

    /// Draw a row of the feeder `name` (see [`Feed`](crate::Feed)) as a `T`: the next
    /// row (sequential), one no other user got (unique), a random one, or this user's own
    /// (per-user). Rows from CSV and JSON lines files convert through serde; in-memory
    /// rows and generators must be of type `T` (which, as for files, derives
    /// `serde::Deserialize` and `Clone`).
    ///
    /// When the feeder has run out and its policy is `stop-user` or `end-run`, this is
    /// [`FeedError::Exhausted`](crate::FeedError::Exhausted): return it (`?`) and the user
    /// stops cleanly, without a failure counted. An unknown name or a row that does not
    /// fit `T` is an error too (counted as a failure of the task).
    ///
    /// ```
    /// # use swarm_core::prelude::*;
    /// #[derive(serde::Deserialize, Clone)]
    /// struct Account { username: String, password: String }
    /// # struct U;
    /// # #[async_trait] impl User for U {
    /// async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
    ///     let account = ctx.feed::<Account>("accounts")?;
    ///     let _login = (&account.username, &account.password);
    ///     Ok(U)
    /// }
    /// # fn tasks() -> Tasks<Self> { Tasks::new() } }
    /// ```
    pub fn feed<T>(&mut self, name: &str) -> Result<T, crate::FeedError>
    where
        T: serde::de::DeserializeOwned + Clone + 'static,
    {
        self.feeds.draw(&self.scope, name, self.id, &mut self.rng)
    }
}

/// What the run-level hooks ([`User::test_start`], [`User::test_stop`]) see.
#[derive(Clone)]
pub struct RunContext {
    pub(crate) host: Option<Arc<Url>>,
    pub(crate) recorder: Recorder,
    pub(crate) scope: Arc<RunScope>,
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("host", &self.host.as_deref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl RunContext {
    /// The target host, if one is set.
    pub fn host(&self) -> Option<&Url> {
        self.host.as_deref()
    }

    /// A recorder, to time set-up requests into the run's statistics.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The per-run setting of type `T` (see [`UserContext::setting`]).
    pub fn setting<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.scope.get::<T>()
    }

    /// The value every user gets from [`UserContext::shared`] for this type, built by
    /// `init` if no one asked for it yet.
    pub fn shared<T, F>(&self, init: F) -> Arc<T>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> T,
    {
        self.scope.get_or_init(init)
    }
}

/// Values shared by all users of one run.
#[derive(Default)]
pub(crate) struct RunScope {
    values: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl RunScope {
    /// Put a value in (replacing one of the same type).
    pub(crate) fn insert_arc<T: Send + Sync + 'static>(&self, value: Arc<T>) {
        self.values
            .lock()
            .insert(TypeId::of::<T>(), value as Arc<dyn Any + Send + Sync>);
    }

    /// The value of type `T`, if there is one.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let v = self.values.lock().get(&TypeId::of::<T>()).cloned()?;
        v.downcast::<T>().ok()
    }

    fn get_or_init<T: Send + Sync + 'static, F: FnOnce() -> T>(&self, init: F) -> Arc<T> {
        let mut values = self.values.lock();
        let v = values
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(init()) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(values);
        v.downcast::<T>()
            .unwrap_or_else(|_| unreachable!("values are keyed by their TypeId"))
    }
}

/// A user type registered with [`register_user!`](crate::register_user), so a scenario
/// binary's `main` can list and select it by name.
#[derive(Debug)]
pub struct Registration {
    pub(crate) name: fn() -> &'static str,
    pub(crate) spec: fn() -> crate::runner::UserSpec,
    weight: fn() -> u32,
    fixed_count: fn() -> Option<u32>,
}

impl Registration {
    /// The registration of `U` (used by [`register_user!`](crate::register_user)).
    pub const fn of<U: User>() -> Self {
        Registration {
            name: U::name,
            spec: crate::runner::UserSpec::of::<U>,
            weight: U::weight,
            fixed_count: U::fixed_count,
        }
    }

    /// The user type's weight ([`User::weight`]): how a distributed master splits users
    /// over types without running them itself.
    pub fn weight(&self) -> u32 {
        (self.weight)()
    }

    /// The user type's fixed count ([`User::fixed_count`]), if it has one.
    pub fn fixed_count(&self) -> Option<u32> {
        (self.fixed_count)()
    }

    /// The registered user type's name.
    pub fn name(&self) -> &'static str {
        (self.name)()
    }
}

inventory::collect!(Registration);

/// Every registered user type, sorted by name.
pub fn registered() -> Vec<&'static Registration> {
    let mut all: Vec<_> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by_key(|r| r.name());
    all
}

/// The runner's view of the registered user types of these names; an unknown name is
/// an error listing the registered ones.
pub(crate) fn specs_named(
    names: &[String],
) -> Result<Vec<crate::runner::UserSpec>, crate::error::ConfigError> {
    let all = registered();
    names
        .iter()
        .map(|n| {
            all.iter()
                .find(|r| r.name() == n)
                .map(|r| (r.spec)())
                .ok_or_else(|| crate::error::ConfigError::UnknownUser {
                    name: n.clone(),
                    known: all.iter().map(|r| r.name().to_owned()).collect(),
                })
        })
        .collect()
}

/// Register user types so that `swarm_core::main()` can run them by name.
///
/// ```ignore
/// swarm_core::register_user!(WebsiteUser, AdminUser);
/// ```
#[macro_export]
macro_rules! register_user {
    ($($user:ty),+ $(,)?) => {
        $( $crate::__private::inventory::submit! {
            $crate::Registration::of::<$user>()
        } )+
    };
}
