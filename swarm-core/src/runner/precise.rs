//! A timer finer than Tokio's millisecond wheel, for the open model's scheduler: a Linux
//! `timerfd` driven through Tokio's reactor. Elsewhere (or if it cannot be made) the
//! scheduler falls back to Tokio's timer.

use tokio::time::Instant;

/// The scheduler's timer.
pub(crate) enum Timer {
    /// Tokio's timer: exact under the paused clock, 1 ms granular in real time.
    Tokio,
    #[cfg(target_os = "linux")]
    Precise(linux::Fd),
}

impl Timer {
    /// A precise timer when asked for and available.
    pub(crate) fn new(precise: bool) -> Timer {
        #[cfg(target_os = "linux")]
        if precise {
            match linux::Fd::new() {
                Ok(fd) => return Timer::Precise(fd),
                Err(e) => tracing::warn!("no precise timer ({e}); using Tokio's 1 ms timer"),
            }
        }
        let _ = precise;
        Timer::Tokio
    }

    /// Sleep until `at`.
    pub(crate) async fn sleep_until(&self, at: Instant) {
        match self {
            Timer::Tokio => tokio::time::sleep_until(at).await,
            #[cfg(target_os = "linux")]
            Timer::Precise(fd) => {
                if fd.sleep_until(at).await.is_err() {
                    tokio::time::sleep_until(at).await;
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, RawFd};

    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use tokio::io::unix::AsyncFd;
    use tokio::time::Instant;

    pub(crate) struct Raw(TimerFd);

    impl AsRawFd for Raw {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    pub(crate) struct Fd {
        fd: AsyncFd<Raw>,
        /// The expiry the timer is set to, until it is read: a sleep until the same
        /// instant (the scheduler's loop asks again after every other event) does not
        /// set it again.
        armed: parking_lot::Mutex<Option<Instant>>,
    }

    impl Fd {
        pub(crate) fn new() -> io::Result<Fd> {
            let t = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )
            .map_err(io::Error::from)?;
            // The timerfd is owned here for the AsyncFd's whole life, so the I/O-safety
            // concern behind the deprecation does not apply (`register` is `unsafe`).
            #[allow(deprecated)]
            let fd = AsyncFd::new(Raw(t))?;
            Ok(Fd {
                fd,
                armed: parking_lot::Mutex::new(None),
            })
        }

        pub(crate) async fn sleep_until(&self, at: Instant) -> io::Result<()> {
            let now = Instant::now();
            if at <= now {
                return Ok(());
            }
            {
                let mut armed = self.armed.lock();
                if *armed != Some(at) {
                    self.fd
                        .get_ref()
                        .0
                        .set(
                            Expiration::OneShot(TimeSpec::from_duration(at - now)),
                            TimerSetTimeFlags::empty(),
                        )
                        .map_err(io::Error::from)?;
                    *armed = Some(at);
                }
            }
            loop {
                let mut guard = self.fd.readable().await?;
                match guard.try_io(|inner| {
                    inner.get_ref().0.wait().map_err(|e| {
                        if e == nix::errno::Errno::EAGAIN {
                            io::Error::from(io::ErrorKind::WouldBlock)
                        } else {
                            io::Error::from(e)
                        }
                    })
                }) {
                    Ok(r) => {
                        *self.armed.lock() = None;
                        return r;
                    }
                    Err(_would_block) => {}
                }
            }
        }
    }
}
