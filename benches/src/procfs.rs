//! What the benchmarks read about processes and the machine: CPU time and
//! resident memory of another process (`/proc/<pid>/stat`, `/proc/<pid>/status`),
//! the file-descriptor limit, CPU pinning, and a one-line machine description.
//!
//! # Portability
//!
//! Linux only (`/proc`); elsewhere the readers return `None`.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

/// CPU time (user + system, all threads, including exited ones) of process
/// `pid`, from fields 14 and 15 of `/proc/<pid>/stat`; `None` if it cannot
/// be read. The resolution is one clock tick (10 ms at the usual 100 Hz),
/// so measurement windows should be seconds long.
pub fn cpu_of(pid: u32) -> Option<Duration> {
    cpu_split_of(pid).map(CpuTimes::total)
}

/// A process's CPU time, split into the time it ran its own code (user)
/// and the time the kernel ran on its behalf (system: its system calls,
/// and the network stack's work done in them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Running the process's own code.
    pub user: Duration,
    /// The kernel, on the process's behalf.
    pub system: Duration,
}

impl CpuTimes {
    /// User plus system time.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// The time between two readings of one process (`self` the later).
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// [`cpu_of`], split into user and system time.
pub fn cpu_split_of(pid: u32) -> Option<CpuTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; it ends at the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace();
    // `rest` starts at field 3 (state); utime and stime are fields 14, 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = clock_ticks();
    let time = |t: u64| {
        Duration::from_secs(t / ticks) + Duration::from_nanos((t % ticks) * 1_000_000_000 / ticks)
    };
    Some(CpuTimes {
        user: time(utime),
        system: time(stime),
    })
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), 100 if unknown.
fn clock_ticks() -> u64 {
    // SAFETY: `sysconf` has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Resident set size of process `pid` in bytes (`VmRSS` in
/// `/proc/<pid>/status`); `None` if it cannot be read.
pub fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and returns
/// the soft limit now in force (children inherit it).
pub fn raise_nofile() -> u64 {
    // SAFETY: `rlimit` is plain old data; all-zero bytes are a valid value.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is valid and writable for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid `rlimit` that outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    lim.rlim_cur as u64
}

/// The number of CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Pins the calling thread (and the threads it starts afterwards) to
/// `cpus`.
///
/// # Errors
///
/// What `sched_setaffinity` reports (`EINVAL` for CPUs that do not exist).
pub fn pin_current_thread(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: `cpu_set_t` is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        if c < libc::CPU_SETSIZE as usize {
            // SAFETY: `c` is below the set's size, checked just above.
            unsafe { libc::CPU_SET(c, &mut set) };
        }
    }
    // SAFETY: `set` is a valid CPU set of the size passed; pid 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Parses a CPU list such as `0-3,6`.
///
/// # Examples
///
/// ```
/// assert_eq!(runtime_benches::procfs::parse_cpus("0-2,5"), Some(vec![0, 1, 2, 5]));
/// assert_eq!(runtime_benches::procfs::parse_cpus("x"), None);
/// ```
pub fn parse_cpus(list: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// Formats CPUs as a list `parse_cpus` reads back.
pub fn format_cpus(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Bytes of memory the kernel says are available (`MemAvailable`).
pub fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    Some(line.split_ascii_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// One line about the machine: CPU model, CPU count, memory, kernel.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            l.split_ascii_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or_else(
            || "? GiB".into(),
            |kb| format!("{:.0} GiB", kb as f64 / 1048576.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    format!("{model}, {} CPUs, {mem} RAM, Linux {kernel}", cpus())
}

/// The 1-minute load average (`/proc/loadavg`): how busy the machine was
/// with other work around a run.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether `cmd args` runs and succeeds (its output discarded).
fn runs(cmd: &str, args: &[&str]) -> bool {
    std::process::Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tool that counts another process's system calls: `perf` on the
/// kernel's tracepoints, in total and for the calls in [`PERF_NAMES`] by
/// name, or `strace`, by name.
///
/// `perf` is preferred: the kernel counts as the calls happen, so the
/// traced process runs at nearly its own speed and batches as it does
/// untraced. `strace` stops the process at every call (a server traced by
/// it runs several times slower), which changes what a call finds: with
/// `strace`, a `recv` after a full read often finds the next message
/// already there instead of failing with `EAGAIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallTool {
    /// `perf stat -e raw_syscalls:sys_enter -p PID`, plus, for each call in
    /// [`PERF_NAMES`] whose bit is set in `named` (the kernel has its
    /// tracepoints), `syscalls:sys_enter_NAME` and `syscalls:sys_exit_NAME`
    /// filtered to `ret < 0` (calls that failed). `named == 0`: the total
    /// only.
    Perf {
        /// Bits over [`PERF_NAMES`].
        named: u64,
    },
    /// `strace -f -c -p PID`: counts and errors per system call.
    Strace,
}

/// The system calls `perf` counts by name where the kernel has their
/// tracepoints (the others count in the total only): what a network
/// server calls per message or per wake-up. Short, because perf takes
/// about 70 ms per named call to close its events when it stops.
pub const PERF_NAMES: &[&str] = &[
    "recvfrom",
    "sendto",
    "recvmsg",
    "sendmsg",
    "read",
    "write",
    "writev",
    "splice",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "futex",
];

/// Where the kernel lists its system-call tracepoints.
const TRACEPOINT_DIRS: [&str; 2] = [
    "/sys/kernel/tracing/events/syscalls",
    "/sys/kernel/debug/tracing/events/syscalls",
];

impl SyscallTool {
    /// `perf` where it can count system-call tracepoints by name here,
    /// else `strace` where it runs, else `perf` for the total only, else
    /// `None`.
    pub fn detect() -> Option<SyscallTool> {
        match SyscallTool::perf() {
            Some(SyscallTool::Perf { named: 0 }) => {
                SyscallTool::strace().or(Some(SyscallTool::Perf { named: 0 }))
            }
            Some(perf) => Some(perf),
            None => SyscallTool::strace(),
        }
    }

    /// `strace`, if it runs here.
    pub fn strace() -> Option<SyscallTool> {
        runs("strace", &["-V"]).then_some(SyscallTool::Strace)
    }

    /// `perf`, if it can count the `raw_syscalls:sys_enter` tracepoint
    /// here, with the calls of [`PERF_NAMES`] whose tracepoints it can
    /// count too.
    pub fn perf() -> Option<SyscallTool> {
        // `-D -1` (start disabled, for `--control`) came with perf 5.10.
        let perf_counts = |events: &[&str]| {
            let mut args = vec!["stat", "-x", ",", "-D", "-1"];
            for e in events {
                args.extend(["-e", e]);
            }
            args.extend(["--", "true"]);
            runs("perf", &args)
        };
        if !perf_counts(&["raw_syscalls:sys_enter"]) {
            return None;
        }
        let named = TRACEPOINT_DIRS
            .iter()
            .map(|dir| {
                PERF_NAMES.iter().enumerate().fold(0u64, |bits, (i, name)| {
                    let has = |kind: &str| {
                        std::path::Path::new(&format!("{dir}/sys_{kind}_{name}")).exists()
                    };
                    if has("enter") && has("exit") {
                        bits | 1 << i
                    } else {
                        bits
                    }
                })
            })
            .max()
            .unwrap_or(0);
        // One named tracepoint, to see that perf may open them.
        if named != 0 {
            let name = PERF_NAMES[named.trailing_zeros() as usize];
            if perf_counts(&[
                "raw_syscalls:sys_enter",
                &format!("syscalls:sys_enter_{name}"),
            ]) {
                return Some(SyscallTool::Perf { named });
            }
        }
        Some(SyscallTool::Perf { named: 0 })
    }

    /// The command as a report should name it.
    pub fn describe(self) -> String {
        match self {
            SyscallTool::Strace => "`strace -f -c -p PID`".into(),
            SyscallTool::Perf { named: 0 } => {
                "`perf stat -e raw_syscalls:sys_enter -p PID` (the total only)".into()
            }
            SyscallTool::Perf { named } => format!(
                "`perf stat -p PID` on the tracepoints `raw_syscalls:sys_enter` (every call) and \
                 `syscalls:sys_enter_NAME` / `syscalls:sys_exit_NAME` with `ret < 0` (failed \
                 calls) for {} calls by name",
                named.count_ones()
            ),
        }
    }

    /// Whether the traced process runs at nearly its own speed (the kernel
    /// counts) rather than stopped at every call.
    pub fn in_kernel(self) -> bool {
        matches!(self, SyscallTool::Perf { .. })
    }

    /// `perf stat`'s event arguments.
    fn perf_events(named: u64) -> Vec<String> {
        let mut args = vec!["-e".to_owned(), "raw_syscalls:sys_enter".to_owned()];
        for (i, name) in PERF_NAMES.iter().enumerate() {
            if named & 1 << i != 0 {
                args.extend([
                    "-e".into(),
                    format!("syscalls:sys_enter_{name}"),
                    "-e".into(),
                    format!("syscalls:sys_exit_{name}"),
                    "--filter".into(),
                    "ret < 0".into(),
                ]);
            }
        }
        args
    }

    /// Starts counting the system calls of every thread of process `pid`
    /// (and of threads it starts later); returns once the tool is
    /// attached.
    ///
    /// # Errors
    ///
    /// If the tool cannot be started or fails to attach (no permission to
    /// trace, the process is gone).
    pub fn attach(self, pid: u32) -> io::Result<SyscallTrace> {
        use std::io::BufRead;
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out =
            std::env::temp_dir().join(format!("compare-syscalls-{}-{n}.txt", std::process::id()));
        let out_s = out.to_string_lossy().into_owned();
        let pid_s = pid.to_string();
        // perf starts with its events disabled and enables them when told
        // (`--control`), acknowledging once they count: the window opens
        // exactly then, however long perf takes to set up.
        let control = match self {
            SyscallTool::Perf { .. } => Some(Control::new(&out)?),
            SyscallTool::Strace => None,
        };
        let mut cmd = match self {
            SyscallTool::Strace => {
                let mut c = std::process::Command::new("strace");
                c.args(["-f", "-c", "-o", &out_s, "-p", &pid_s]);
                c
            }
            SyscallTool::Perf { named } => {
                let mut c = std::process::Command::new("perf");
                c.args(["stat", "-x", ",", "-o", &out_s, "-p", &pid_s, "-D", "-1"]);
                if let Some(ctl) = &control {
                    c.arg(format!(
                        "--control=fifo:{},{}",
                        ctl.ctl_path.display(),
                        ctl.ack_path.display()
                    ));
                }
                c.args(SyscallTool::perf_events(named));
                c
            }
        };
        let mut child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let mut stderr = io::BufReader::new(child.stderr.take().expect("piped"));
        match self {
            SyscallTool::Strace => {
                // strace says "Process N attached" once every thread is.
                let mut said = String::new();
                loop {
                    let mut line = String::new();
                    if stderr.read_line(&mut line)? == 0 {
                        let _ = child.wait();
                        return Err(io::Error::other(format!(
                            "strace did not attach: {}",
                            said.trim()
                        )));
                    }
                    if line.contains("attached") {
                        break;
                    }
                    said.push_str(&line);
                }
            }
            SyscallTool::Perf { .. } => {
                let ctl = control.as_ref().expect("made for perf");
                if let Err(e) = ctl.command(&mut child, "enable") {
                    let _ = child.kill();
                    let _ = child.wait();
                    let mut said = String::new();
                    let _ = io::Read::read_to_string(&mut stderr, &mut said);
                    return Err(io::Error::other(format!("perf: {e}: {}", said.trim())));
                }
            }
        }
        // Keep reading what the tool says so that it never blocks on a
        // full pipe (nor dies of a closed one).
        let drain = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = io::Read::read_to_string(&mut stderr, &mut rest);
            rest
        });
        Ok(SyscallTrace {
            tool: self,
            child,
            out,
            drain,
            control,
        })
    }
}

/// The FIFOs through which perf is told to enable and disable its events
/// (`perf stat --control fifo:CTL,ACK`), removed on drop.
#[derive(Debug)]
struct Control {
    ctl_path: std::path::PathBuf,
    ack_path: std::path::PathBuf,
}

impl Control {
    fn new(out: &std::path::Path) -> io::Result<Control> {
        let mk = |suffix: &str| -> io::Result<std::path::PathBuf> {
            let p = out.with_extension(suffix);
            let _ = std::fs::remove_file(&p);
            let c = std::ffi::CString::new(p.to_string_lossy().into_owned())
                .map_err(io::Error::other)?;
            // SAFETY: `c` is a valid NUL-terminated path.
            if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(p)
        };
        Ok(Control {
            ctl_path: mk("ctl")?,
            ack_path: mk("ack")?,
        })
    }

    /// Sends `cmd` and waits (at most 10 s, or until perf exits) for its
    /// acknowledgement.
    fn command(&self, child: &mut std::process::Child, cmd: &str) -> io::Result<()> {
        use std::io::{Read, Write};
        use std::os::unix::fs::OpenOptionsExt;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Non-blocking opens, retried until perf has its ends open.
        let open = |write: bool| -> io::Result<std::fs::File> {
            loop {
                let r = std::fs::OpenOptions::new()
                    .read(!write)
                    .write(write)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(if write {
                        &self.ctl_path
                    } else {
                        &self.ack_path
                    });
                match r {
                    Ok(f) => return Ok(f),
                    // ENXIO: no reader on the FIFO yet.
                    Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
                    Err(e) => return Err(e),
                }
                if std::time::Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "perf never opened its control FIFO",
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        };
        let mut ack = open(false)?;
        let mut ctl = open(true)?;
        ctl.write_all(format!("{cmd}\n").as_bytes())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        loop {
            match ack.read(&mut buf) {
                Ok(n) if n > 0 => {
                    got.extend_from_slice(&buf[..n]);
                    if got.contains(&b'\n') {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!("exited ({status})")));
            }
            if std::time::Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no ack for {cmd}"),
                ));
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ctl_path);
        let _ = std::fs::remove_file(&self.ack_path);
    }
}

/// A running [`SyscallTool`], attached to a process.
#[derive(Debug)]
pub struct SyscallTrace {
    tool: SyscallTool,
    child: std::process::Child,
    out: std::path::PathBuf,
    drain: std::thread::JoinHandle<String>,
    /// perf's control FIFOs.
    control: Option<Control>,
}

impl SyscallTrace {
    /// Detaches (`SIGINT`, as Ctrl-C would) and returns the counts.
    ///
    /// # Errors
    ///
    /// If the tool does not stop within 10 s (it is then killed) or its
    /// summary cannot be read.
    pub fn finish(self) -> io::Result<SyscallCounts> {
        self.stop().counts()
    }

    /// Stops counting (`SIGINT`) without waiting for the tool to exit:
    /// both tools take their counts as the signal arrives, and `perf` then
    /// spends tens of milliseconds per tracepoint closing its events,
    /// asleep, before it writes them. [`Stopped::counts`] waits for them.
    pub fn stop(mut self) -> Stopped {
        if let Some(ctl) = &self.control {
            // Counting ends exactly here; a failure leaves it to SIGINT.
            let _ = ctl.command(&mut self.child, "disable");
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: `kill` has no memory-safety preconditions; `pid` is
            // our own child, not yet reaped, so it names no other process.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        Stopped(self)
    }
}

/// A [`SyscallTrace`] told to stop, whose counts may not be written yet.
#[derive(Debug)]
pub struct Stopped(SyscallTrace);

impl Stopped {
    /// Waits for the tool to exit and returns its counts.
    ///
    /// # Errors
    ///
    /// As [`SyscallTrace::finish`].
    pub fn counts(self) -> io::Result<SyscallCounts> {
        let mut t = self.0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if t.child.try_wait()?.is_some() {
                break;
            }
            if std::time::Instant::now() >= deadline {
                let _ = t.child.kill();
                let _ = t.child.wait();
                let _ = std::fs::remove_file(&t.out);
                return Err(io::Error::other("the tracer did not stop within 10 s"));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        t.read_counts()
    }
}

impl SyscallTrace {
    fn read_counts(self) -> io::Result<SyscallCounts> {
        let said = self.drain.join().unwrap_or_default();
        let text = std::fs::read_to_string(&self.out);
        let _ = std::fs::remove_file(&self.out);
        let text = text.map_err(|e| io::Error::other(format!("{e}: {}", said.trim())))?;
        let counts = match self.tool {
            SyscallTool::Strace => SyscallCounts::parse_strace(&text),
            SyscallTool::Perf { .. } => SyscallCounts::parse_perf(&text),
        };
        counts.ok_or_else(|| io::Error::other(format!("cannot parse the tracer's summary: {text}")))
    }
}

/// System calls counted over an interval.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallCounts {
    /// All calls.
    pub total: u64,
    /// Per call name: (name, calls, calls that failed), most calls first;
    /// empty when the tool counts only the total.
    pub by_name: Vec<(String, u64, u64)>,
}

impl SyscallCounts {
    /// Reads the summary table of `strace -c`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime_benches::procfs::SyscallCounts;
    ///
    /// let text = "\
    /// % time     seconds  usecs/call     calls    errors syscall
    /// ------ ----------- ----------- --------- --------- ----------------
    ///  60.00    0.000600           6       100           sendto
    ///  40.00    0.000400           2       200       100 recvfrom
    /// ------ ----------- ----------- --------- --------- ----------------
    /// 100.00    0.001000           3       300       100 total
    /// ";
    /// let c = SyscallCounts::parse_strace(text).unwrap();
    /// assert_eq!(c.total, 300);
    /// assert_eq!(c.by_name[0], ("recvfrom".to_owned(), 200, 100));
    /// assert_eq!(c.by_name[1], ("sendto".to_owned(), 100, 0));
    /// ```
    pub fn parse_strace(text: &str) -> Option<SyscallCounts> {
        let mut by_name = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            // % time, seconds, usecs/call, calls, errors (blank when none),
            // name. The total row is left out (older versions print it
            // without usecs/call); the total is the sum of the rows.
            let (name, nums) = match f.split_last() {
                Some((name, nums)) if nums.len() >= 4 && *name != "total" => (*name, nums),
                _ => continue,
            };
            if nums[0].parse::<f64>().is_err() || nums[1].parse::<f64>().is_err() {
                continue;
            }
            let ints: Option<Vec<u64>> = nums[2..].iter().map(|x| x.parse().ok()).collect();
            let (calls, errors) = match ints.as_deref() {
                Some([_, c, e]) => (*c, *e),
                Some([_, c]) => (*c, 0),
                _ => continue,
            };
            by_name.push((name.to_owned(), calls, errors));
        }
        by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let total = by_name.iter().map(|x| x.1).sum();
        (!by_name.is_empty()).then_some(SyscallCounts { total, by_name })
    }

    /// Reads the CSV output of `perf stat -x ,`: the total from
    /// `raw_syscalls:sys_enter`, and per call the count of
    /// `syscalls:sys_enter_NAME` and the failures `syscalls:sys_exit_NAME`
    /// counted (filtered to `ret < 0`); calls counted 0 times are left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime_benches::procfs::SyscallCounts;
    ///
    /// let text = "# started on Mon\n\n\
    ///     564,,raw_syscalls:sys_enter,8176417,100.00,,\n\
    ///     200,,syscalls:sys_enter_recvfrom,8176417,100.00,,\n\
    ///     100,,syscalls:sys_exit_recvfrom,8176417,100.00,,\n\
    ///     300,,syscalls:sys_enter_sendto,8176417,100.00,,\n\
    ///     0,,syscalls:sys_exit_sendto,8176417,100.00,,\n\
    ///     0,,syscalls:sys_enter_futex,8176417,100.00,,\n\
    ///     0,,syscalls:sys_exit_futex,8176417,100.00,,\n";
    /// let c = SyscallCounts::parse_perf(text).unwrap();
    /// assert_eq!(c.total, 564);
    /// assert_eq!(c.by_name, [("sendto".to_owned(), 300, 0), ("recvfrom".to_owned(), 200, 100)]);
    /// ```
    pub fn parse_perf(text: &str) -> Option<SyscallCounts> {
        let mut total = None;
        let mut calls: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for line in text.lines() {
            let mut f = line.split(',');
            let (Some(value), Some(_unit), Some(event)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            // "<not counted>" and the like count as nothing.
            let value: u64 = value.trim().parse().unwrap_or(0);
            if event == "raw_syscalls:sys_enter" {
                total = Some(value);
            } else if let Some(name) = event.strip_prefix("syscalls:sys_enter_") {
                calls.entry(name).or_default().0 += value;
            } else if let Some(name) = event.strip_prefix("syscalls:sys_exit_") {
                calls.entry(name).or_default().1 += value;
            }
        }
        let mut by_name: Vec<(String, u64, u64)> = calls
            .into_iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(name, (n, failed))| (name.to_owned(), n, failed))
            .collect();
        by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(SyscallCounts {
            total: total?,
            by_name,
        })
    }
}
