//! Child processes, as tokio's `process`: [`Command`] spawns, [`Child`]
//! is awaited, and the child's standard streams are pipes driven by the
//! process's reactor.
//!
//! - **Exit.** On Linux each child gets a `pidfd` (`pidfd_open(2)`, Linux
//!   5.3): the reactor reports it readable when the child exits, and
//!   [`Child::wait`] then reaps it. Elsewhere (BSD, macOS, or a kernel
//!   without `pidfd_open`) `wait` listens for `SIGCHLD` through
//!   [`signal`](crate::signal::unix::signal) and checks its child at each
//!   one. Either way no thread blocks in `waitpid`.
//! - **Pipes.** [`ChildStdin`], [`ChildStdout`] and [`ChildStderr`] are
//!   the parent's ends of the pipes, made non-blocking and registered with
//!   the reactor: [`AsyncWrite`](crate::io::AsyncWrite) and [`AsyncRead`](crate::io::AsyncRead) like a socket's.
//! - **No runtime needed.** Like the sockets, timers and signals, a child
//!   and its pipes work under any executor: they need the reactor only.
//! - **Dropping a `Child`** leaves the process running (unless
//!   [`Command::kill_on_drop`]), as `std` and tokio do. Dropped inside a
//!   runtime, a small task of that runtime reaps it when it exits, so it
//!   does not stay a zombie; dropped elsewhere, it is reaped at the next
//!   spawn or drop of a `Child` in the process.
//!
//! # Examples
//!
//! ```
//! use runtime::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::process::Command;
//! use std::process::Stdio;
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! let out = Command::new("echo").arg("hello").output().await?;
//! assert!(out.status.success());
//! assert_eq!(out.stdout, b"hello\n");
//!
//! let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//! let mut stdin = cat.stdin.take().unwrap();
//! stdin.write_all(b"through a pipe").await?;
//! drop(stdin); // EOF for cat
//! let mut text = String::new();
//! cat.stdout.take().unwrap().read_to_string(&mut text).await?;
//! assert_eq!(text, "through a pipe");
//! assert!(cat.wait().await?.success());
//! # Ok::<_, std::io::Error>(()) }).unwrap();
//! ```

mod pipe;

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use parking_lot::Mutex;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

/// Children dropped before they were reaped: collected at the next spawn
/// or drop of a `Child`.
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Reaps the orphans that have exited.
fn reap_orphans() {
    let mut orphans = ORPHANS.lock();
    orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// A process to spawn: [`std::process::Command`]'s builder, whose
/// [`spawn`](Command::spawn) gives an async [`Child`].
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no
    /// `/`), with no arguments, this process's environment and working
    /// directory, and the standard streams inherited (for
    /// [`spawn`](Command::spawn) and [`status`](Command::status)).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables of the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what
    /// [`env`](Command::env) adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input: `Stdio::piped()` gives
    /// [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's standard output: `Stdio::piped()` gives
    /// [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's standard error: `Stdio::piped()` gives
    /// [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether dropping the [`Child`] before it exited kills it
    /// (`SIGKILL`). Off by default, as in `std` and tokio.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The child's user id (`setuid`).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// The child's group id (`setgid`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// The child's process group (`setpgid`; 0: a new group led by the
    /// child).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// The child's `argv[0]`, instead of the program.
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Runs `f` in the child between `fork` and `exec`.
    ///
    /// # Safety
    ///
    /// As [`std::os::unix::process::CommandExt::pre_exec`]: `f` runs in a
    /// forked copy of a multi-threaded process and may only do what is
    /// async-signal-safe there.
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { self.std.pre_exec(f) };
        self
    }

    /// The `std` command underneath.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The `std` command underneath, mutably (for what this type does not
    /// forward).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Whether [`kill_on_drop`](Command::kill_on_drop) is on.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Starts the child.
    ///
    /// # Errors
    ///
    /// Those of [`std::process::Command::spawn`] (`NotFound` for a missing
    /// program, `PermissionDenied`, …), or of registering the child's
    /// pipes with the reactor.
    pub fn spawn(&mut self) -> io::Result<Child> {
        reap_orphans();
        let mut std = self.std.spawn()?;
        let stdin = std.stdin.take().map(ChildStdin::from_std).transpose();
        let stdout = std.stdout.take().map(ChildStdout::from_std).transpose();
        let stderr = std.stderr.take().map(ChildStderr::from_std).transpose();
        let exit = exit::Exit::new(std.id());
        let (stdin, stdout, stderr, exit) = match (stdin, stdout, stderr, exit) {
            (Ok(i), Ok(o), Ok(e), Ok(x)) => (i, o, e, x),
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
                // Not handed out: do not leave it running unwatched.
                let _ = std.kill();
                let _ = std.wait();
                return Err(e);
            }
        };
        Ok(Child {
            std: Some(std),
            status: None,
            exit,
            kill_on_drop: self.kill_on_drop,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Runs the child to its end, with the standard streams as configured
    /// (inherited by default), and gives its exit status.
    ///
    /// # Errors
    ///
    /// Those of [`spawn`](Command::spawn) and of [`Child::wait`].
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let child = self.spawn();
        async move {
            let mut child = child?;
            // Pipes configured but not read would keep a child blocked on
            // them: close them.
            drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Runs the child to its end with its standard output and error piped,
    /// and gives its status and everything it wrote.
    ///
    /// # Errors
    ///
    /// Those of [`spawn`](Command::spawn) and of
    /// [`Child::wait_with_output`].
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        let child = self.spawn();
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

/// A running (or exited) child process, from [`Command::spawn`].
pub struct Child {
    /// `None` once reaped.
    std: Option<std::process::Child>,
    status: Option<ExitStatus>,
    exit: exit::Exit,
    kill_on_drop: bool,
    /// The child's standard input, when piped.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, when piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, when piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// The child's process id; `None` once it was reaped (by
    /// [`wait`](Child::wait) or [`try_wait`](Child::try_wait)), when the
    /// id may already be another process's.
    pub fn id(&self) -> Option<u32> {
        self.std.as_ref().map(std::process::Child::id)
    }

    /// The exit status if the child has exited (reaping it), `None` if it
    /// still runs. Never blocks.
    ///
    /// # Errors
    ///
    /// Those of `waitpid(2)`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(std) = &mut self.std else {
            unreachable!("a Child without status is not reaped");
        };
        let status = std.try_wait()?;
        if let Some(status) = status {
            self.status = Some(status);
            self.std = None;
        }
        Ok(status)
    }

    /// Waits for the child to exit and gives its status (at once if it
    /// has already). Cancel-safe. The pipes stay open: drop
    /// [`stdin`](Child::stdin) first if the child reads it to its end.
    ///
    /// # Errors
    ///
    /// Those of `waitpid(2)`, or of the reactor.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            self.exit.changed().await?;
        }
    }

    /// Sends `SIGKILL` to the child without waiting for it to die.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the child was reaped already; those of `kill(2)`.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.std {
            Some(std) => std.kill(),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the child has exited and was reaped: nothing to kill",
            )),
        }
    }

    /// Kills the child (`SIGKILL`) and waits for it to die.
    ///
    /// # Errors
    ///
    /// Those of [`start_kill`](Child::start_kill) and
    /// [`wait`](Child::wait).
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Closes the child's standard input, reads its standard output and
    /// error to their ends (at the same time, so a child filling one pipe
    /// cannot stall on it) and waits for it.
    ///
    /// # Errors
    ///
    /// A read error of a pipe, or those of [`wait`](Child::wait).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        use crate::io::AsyncReadExt;

        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (self.stdout.take(), self.stderr.take());
        let read_out = async {
            let mut buf = Vec::new();
            if let Some(pipe) = &mut stdout {
                pipe.read_to_end(&mut buf).await?;
            }
            Ok::<_, io::Error>(buf)
        };
        let read_err = async {
            let mut buf = Vec::new();
            if let Some(pipe) = &mut stderr {
                pipe.read_to_end(&mut buf).await?;
            }
            Ok::<_, io::Error>(buf)
        };
        let (stdout, stderr) = futures_util::future::try_join(read_out, read_err).await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut std) = self.std.take() {
            if self.kill_on_drop {
                let _ = std.kill();
            }
            if matches!(std.try_wait(), Ok(None)) {
                reap_when_it_exits(std);
            }
        }
        reap_orphans();
    }
}

/// A child dropped before it was reaped: on a runtime, a small task
/// waits for its exit (its own pidfd or `SIGCHLD` watcher) and reaps it,
/// so that it does not stay a zombie; without a runtime, or if the task is
/// dropped first (the runtime shuts down), it joins the orphans that the
/// next spawn or drop reaps.
fn reap_when_it_exits(std: std::process::Child) {
    /// Gives the child to the orphans if dropped unreaped.
    struct Orphan(Option<std::process::Child>);

    impl Drop for Orphan {
        fn drop(&mut self) {
            if let Some(mut child) = self.0.take() {
                if matches!(child.try_wait(), Ok(None)) {
                    ORPHANS.lock().push(child);
                }
            }
        }
    }

    let Ok(handle) = crate::Handle::try_current() else {
        ORPHANS.lock().push(std);
        return;
    };
    let exit = match exit::Exit::new(std.id()) {
        Ok(exit) => exit,
        Err(_) => {
            ORPHANS.lock().push(std);
            return;
        }
    };
    let mut orphan = Orphan(Some(std));
    let mut exit = exit;
    drop(handle.spawn(async move {
        while let Some(child) = &mut orphan.0 {
            match child.try_wait() {
                Ok(None) => {}
                // Reaped (or beyond reaping): nothing is left to do.
                Ok(Some(_)) | Err(_) => {
                    drop(orphan.0.take());
                    return;
                }
            }
            if exit.changed().await.is_err() {
                return; // `Orphan`'s drop queues it
            }
        }
    }));
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

/// How a `Child` learns that its process changed state.
mod exit {
    use std::io;

    use crate::signal::unix::{signal, Signal, SignalKind};

    pub(super) enum Exit {
        /// Readable once the process has exited (Linux).
        #[cfg(target_os = "linux")]
        Pidfd(runtime_net::async_fd::AsyncFd<std::os::fd::OwnedFd>),
        /// Every `SIGCHLD` of the process: some child changed state.
        Sigchld(Signal),
    }

    impl Exit {
        pub(super) fn new(pid: u32) -> io::Result<Exit> {
            #[cfg(target_os = "linux")]
            if let Some(fd) = pidfd(pid) {
                return Ok(Exit::Pidfd(runtime_net::async_fd::AsyncFd::new(fd)?));
            }
            let _ = pid;
            Ok(Exit::Sigchld(signal(SignalKind::child())?))
        }

        /// Waits until the process may have changed state (the caller then
        /// checks with `waitpid`).
        pub(super) async fn changed(&mut self) -> io::Result<()> {
            match self {
                #[cfg(target_os = "linux")]
                Exit::Pidfd(fd) => {
                    let mut guard = fd.readable().await?;
                    // Cleared: the caller checks with `waitpid` next, which
                    // sees an exit whatever the readiness says, and a
                    // process still running (a stale readiness) makes the
                    // next call wait for the edge of its exit.
                    guard.clear_ready();
                    Ok(())
                }
                Exit::Sigchld(sig) => {
                    sig.recv().await;
                    Ok(())
                }
            }
        }
    }

    /// A pidfd for `pid`, or `None` where the kernel has no
    /// `pidfd_open` (before 5.3) or refuses it.
    #[cfg(target_os = "linux")]
    fn pidfd(pid: u32) -> Option<std::os::fd::OwnedFd> {
        use std::os::fd::FromRawFd;

        // SAFETY: `pidfd_open(pid, 0)` takes no pointers; it returns a new
        // fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` was just opened by the kernel for us and is owned
        // nowhere else.
        Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The `SIGCHLD` path (the only one on BSD and macOS, and Linux's when
    /// `pidfd_open` is refused), forced on Linux: children that exit at
    /// different times, waited for at once, each get their own status,
    /// and a `wait` dropped early loses nothing.
    #[test]
    fn the_sigchld_path_waits_for_each_child() {
        let rt = crate::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut waits = Vec::new();
            for i in 0..10 {
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(format!("sleep 0.{}; exit {i}", i % 3));
                let mut child = cmd.spawn().unwrap();
                child.exit = exit::Exit::Sigchld(
                    crate::signal::unix::signal(crate::signal::unix::SignalKind::child()).unwrap(),
                );
                waits.push(crate::spawn(async move {
                    if i == 8 {
                        let early =
                            crate::time::timeout(Duration::from_millis(20), child.wait()).await;
                        assert!(early.is_err());
                    }
                    (i, child.wait().await.unwrap())
                }));
            }
            for wait in waits {
                let (i, status) = wait.await.unwrap();
                assert_eq!(status.code(), Some(i));
            }
        });
    }
}
